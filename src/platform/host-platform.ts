import { existsSync } from 'node:fs';

/** Where the hub runs, as GET /api/hub reports it (deploy.md). */
export type HostPlatform = 'fly' | 'render' | 'systemd' | 'launchd' | 'container' | 'process';

export interface PlatformFacts {
  platform: HostPlatform;
  /** Fly's region (FLY_REGION); null elsewhere. */
  region: string | null;
  /** Fly's image reference (FLY_IMAGE_REF); null elsewhere. */
  image: string | null;
  /** The commit the platform deployed (RENDER_GIT_COMMIT); null elsewhere. */
  deployedCommit: string | null;
}

type Env = Record<string, string | undefined>;

/** What detection looks at besides the environment; tests pass their own. */
export interface PlatformProbe {
  exists: (path: string) => boolean;
  os: NodeJS.Platform;
}

const set = (value: string | undefined) => (value?.trim() ? value.trim() : null);

/**
 * The platform from what each one sets: Fly and Render their own variables,
 * systemd INVOCATION_ID for a service, launchd XPC_SERVICE_NAME (a job's
 * label; Terminal sets "0" and GUI apps "application.…", which are not jobs),
 * Docker /.dockerenv and Podman /run/.containerenv. A hint for the admin, not
 * a security decision: anything the environment can fake is fine here.
 */
export function detectPlatform(
  env: Env,
  probe: PlatformProbe = { exists: existsSync, os: process.platform },
): PlatformFacts {
  return {
    platform: kind(env, probe),
    region: set(env.FLY_REGION),
    image: set(env.FLY_IMAGE_REF),
    deployedCommit: set(env.RENDER_GIT_COMMIT),
  };
}

function kind(env: Env, probe: PlatformProbe): HostPlatform {
  if (set(env.FLY_APP_NAME)) return 'fly';
  if (set(env.RENDER) || set(env.RENDER_EXTERNAL_URL)) return 'render';
  if (probe.os === 'linux' && set(env.INVOCATION_ID)) return 'systemd';
  const job = set(env.XPC_SERVICE_NAME);
  if (probe.os === 'darwin' && job && job !== '0' && !job.startsWith('application.'))
    return 'launchd';
  if (probe.exists('/.dockerenv') || probe.exists('/run/.containerenv')) return 'container';
  return 'process';
}
