import { accessSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LAUNCHER_NAME, underLauncher } from '../fly/launcher-exit.ts';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { installedUnit } from '../platform/units/host-unit.ts';
import { userManagerEnv } from '../platform/units/run.ts';
import { LAUNCHD_LABEL, type UnitScope } from '../platform/units/unit-config.ts';
import { hasUpgradeTrigger, upgradeRequestFile } from '../platform/units/upgrade-trigger.ts';

type Env = Record<string, string | undefined>;

/** Who restarts the hub after its binary is swapped: a service manager, or the Fly launcher. */
export type Restarter = UnitScope | typeof LAUNCHER_NAME;

/**
 * Which manager restarts this running hub: the Fly launcher sets
 * PARACHUTE_LAUNCHER, systemd INVOCATION_ID in its services, launchd
 * XPC_SERVICE_NAME. A hub under the system unit runs as the unprivileged
 * parachute user and may not replace a root-owned binary.
 */
export function runningUnder(env: Env): Restarter | null {
  if (underLauncher(env)) return LAUNCHER_NAME;
  if (env.XPC_SERVICE_NAME === LAUNCHD_LABEL) return 'launchd';
  if (!env.INVOCATION_ID) return null;
  const own = installedUnit(env, { ownOnly: true });
  return own?.scope === 'user' ? 'user' : 'system';
}

/**
 * Starts `parachute upgrade --hub --watch` outside the hub, so that it
 * survives the restart it causes and watches the new hub come up: under
 * systemd as a transient unit of the user's manager (a child would be killed
 * with the hub's cgroup), elsewhere as a detached process in its own session.
 */
export async function startWatcher(options: {
  id: string;
  home: string;
  port: number;
  to?: string;
  env: Env;
}): Promise<void> {
  const { id, home, port, to, env } = options;
  const binary = process.execPath;
  const manager = runningUnder(env);
  if (manager === 'system') {
    if (!hasUpgradeTrigger()) {
      throw new OperatorError(
        'this hub runs as a system service under its own unprivileged account, which may not replace its binary, and its upgrade trigger is not installed.',
        'On the server, run `sudo parachute unit install` once (it adds the trigger), or `sudo parachute upgrade --hub`.',
      );
    }
    // The root trigger starts as soon as the file exists: write it whole, in one rename.
    writeFileAtomic(upgradeRequestFile(home), JSON.stringify({ id, ...(to ? { to } : {}) }), {
      mode: 0o640,
    });
    return;
  }
  try {
    accessSync(dirname(binary), constants.W_OK);
  } catch {
    throw new OperatorError(
      `the hub may not write ${dirname(binary)}, where its binary is.`,
      'On the server, run `parachute upgrade --hub` as the user who owns that folder.',
    );
  }
  const args = [
    binary,
    'upgrade',
    '--hub',
    '--watch',
    '--id',
    id,
    '--manager',
    manager ?? 'none',
    '--port',
    String(port),
    ...(to ? ['--to', to] : []),
  ];
  const pass = [
    'PARACHUTE_RELEASE_URL',
    'PARACHUTE_UPGRADE_HEALTH_S',
    'PARACHUTE_LAUNCHER',
    'HOME',
    'PATH',
    'XDG_RUNTIME_DIR',
    'XDG_CONFIG_HOME',
  ];
  const childEnv: Env = { PARACHUTE_HOME: home };
  for (const name of pass) if (env[name] !== undefined) childEnv[name] = env[name];
  if (manager === 'user') {
    const setenv = Object.entries(childEnv).map(([k, v]) => `--setenv=${k}=${v}`);
    const proc = Bun.spawn(
      [
        'systemd-run',
        '--user',
        '--collect',
        '--quiet',
        `--unit=parachute-upgrade-${id.slice(0, 8)}`,
        ...setenv,
        ...args,
      ],
      { env: userManagerEnv(env), stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
    );
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    if (code !== 0) {
      throw new OperatorError(
        `could not start the upgrade watcher with systemd-run: ${stderr.trim()}`,
        'Run `parachute upgrade --hub` on the server instead.',
      );
    }
    return;
  }
  const logs = join(home, 'logs');
  mkdirSync(logs, { recursive: true });
  const log = openSync(join(logs, 'upgrade.log'), 'a');
  const proc = Bun.spawn(args, {
    env: childEnv,
    stdin: 'ignore',
    stdout: log,
    stderr: log,
    detached: true,
  });
  proc.unref();
}
