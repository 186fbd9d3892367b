import { existsSync, readFileSync } from 'node:fs';
import { OperatorError } from '../operator-error.ts';
import { CONTAINER_STATE, inContainer } from './container.ts';
import { launchdManager } from './launchd-manager.ts';
import type { UnitManager } from './manager.ts';
import { systemdManager } from './systemd-manager.ts';
import { type UnitScope, unitFile } from './unit-config.ts';
import { unitSettings } from './unit-settings.ts';

type Env = Record<string, string | undefined>;

/** The unit this user installs on this host: launchd on macOS, the system unit as root, else the user's. */
export function hostScope(env: Env = process.env): UnitScope {
  if (inContainer(env)) {
    throw new OperatorError(
      `this is a container: the platform runs the hub (${CONTAINER_STATE}).`,
      'Its image runs `parachute serve`; there is no unit to install here.',
    );
  }
  if (process.platform === 'darwin') return 'launchd';
  if (process.platform !== 'linux') {
    throw new OperatorError(
      `units are written for Linux (systemd) and macOS (launchd), not ${process.platform}.`,
      'Run `parachute serve` under this system’s own service manager.',
    );
  }
  return process.getuid?.() === 0 ? 'system' : 'user';
}

export function managerFor(scope: UnitScope, file: string, env: Env = process.env): UnitManager {
  return scope === 'launchd' ? launchdManager(file) : systemdManager(scope, env);
}

/** The hub's unit as installed on this host, for this user: where, what it sets, who runs it. */
export interface InstalledUnit {
  scope: UnitScope;
  file: string;
  text: string;
  home?: string;
  port?: number;
}

/**
 * The installed unit this CLI drives: as root the system unit, else the
 * user's own (systemd user unit or LaunchAgent), else, for a non-root user
 * on a host with a system unit, that one (to say it needs root). Null when
 * none is installed. `ownOnly` leaves out another user's (the system) unit.
 */
export function installedUnit(
  env: Env = process.env,
  options: { ownOnly?: boolean } = {},
): InstalledUnit | null {
  const scopes: UnitScope[] =
    process.platform === 'darwin'
      ? ['launchd']
      : process.getuid?.() === 0
        ? ['system']
        : options.ownOnly
          ? ['user']
          : ['user', 'system'];
  for (const scope of scopes) {
    const file = unitFile(scope, env);
    if (!existsSync(file)) continue;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Unreadable: still installed; the home is then the default for that scope.
    }
    return { scope, file, text, ...unitSettings(text) };
  }
  return null;
}
