// The one machine of a hub on Fly (issue 19 point 1; ../shared/notes/fly-machines-api.md,
// "Machine config fields"). Same shape as fly.toml's, spelled for the Machines API.
import { VERSION } from '../version.ts';

/** Names the deploy finds things by on a re-run. */
export const HUB_MACHINE = 'hub';
export const HUB_VOLUME = 'parachute_home';
export const HUB_ROLE = { parachute_role: 'hub' } as const;
/** Where the volume is mounted: PARACHUTE_HOME in the image. */
export const HOME_MOUNT = '/parachute';
const HUB_PORT = 1939;

/** The image whose `parachute` is only the launcher: the hub binary itself lives on the volume. */
export function flyImage(env: Record<string, string | undefined> = process.env): string {
  return env.PARACHUTE_FLY_IMAGE?.trim() || `ghcr.io/openparachute/parachute-hub:${VERSION}`;
}

export interface HubMachineInput {
  image: string;
  volumeId: string;
  /** The release the launcher fetches onto the volume (PARACHUTE_VERSION). */
  version: string;
  /** Where releases come from, when not the default (PARACHUTE_RELEASE_URL). */
  releaseUrl?: string;
}

/** The machine's whole config: an update sends this back in full (the API does not merge). */
export function hubMachineConfig(input: HubMachineInput): Record<string, unknown> {
  const env: Record<string, string> = { PARACHUTE_VERSION: input.version };
  if (input.releaseUrl) env.PARACHUTE_RELEASE_URL = input.releaseUrl;
  return {
    image: input.image,
    // The image's binary is the launcher: it seeds or swaps the volume's binary, then runs it.
    init: { cmd: ['parachute', 'fly-boot'] },
    guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 512 },
    env,
    metadata: { ...HUB_ROLE },
    mounts: [{ volume: input.volumeId, path: HOME_MOUNT }],
    services: [
      {
        protocol: 'tcp',
        internal_port: HUB_PORT,
        ports: [
          { port: 80, handlers: ['http'], force_https: true },
          { port: 443, handlers: ['tls', 'http'] },
        ],
        // One long-lived machine: the hub supervises modules and holds sessions.
        autostart: true,
        autostop: 'off',
        min_machines_running: 1,
      },
    ],
    checks: {
      health: {
        type: 'http',
        port: HUB_PORT,
        path: '/health',
        method: 'GET',
        interval: '15s',
        timeout: '5s',
        grace_period: '20s',
      },
    },
    // The hub stops its modules, then itself, on SIGTERM (about 15 s at most).
    stop_config: { signal: 'SIGTERM', timeout: '30s' },
    restart: { policy: 'always' },
  };
}
