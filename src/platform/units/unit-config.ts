import { join } from 'node:path';
import { DEFAULT_KNOBS } from '../../supervisor/supervisor.ts';

/** Which service manager runs the hub, and as whom (deploy.md, "install.sh" point 3). */
export type UnitScope = 'system' | 'user' | 'launchd';

/** Everything a unit file says; the renderers turn it into text and nothing else. */
export interface UnitConfig {
  scope: UnitScope;
  /** Absolute path of the parachute binary the manager starts (`<binary> serve`). */
  binary: string;
  home: string;
  port: number;
  /** The system unit's dedicated account. */
  user?: string;
  /** PATH of the hub and its modules: the module shims in $PARACHUTE_HOME/bin first. */
  path: string;
}

/** The account a system unit runs as, created by `parachute unit install` when missing. */
export const SYSTEM_USER = 'parachute';
/** The system unit's home: systemd's StateDirectory=parachute. */
export const SYSTEM_HOME = '/var/lib/parachute';
export const DEFAULT_PORT = 1939;
export const UNIT_NAME = 'parachute.service';
export const SYSTEM_UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
export const LAUNCHD_LABEL = 'computer.parachute.hub';

/**
 * The longest a clean hub shutdown takes (hub.ts stop()): every module gets
 * SIGTERM, SIGKILL after stopGraceMs, then up to killWaitMs for the group to
 * go; then in-flight requests get the server's drain grace.
 */
export const HUB_SHUTDOWN_DEADLINE_MS =
  DEFAULT_KNOBS.stopGraceMs + DEFAULT_KNOBS.killWaitMs + 5_000;

/** The manager's stop timeout: well above the hub's own deadline, so it never kills a clean stop. */
export const STOP_TIMEOUT_SEC = 30;

/** The system directories a unit's PATH ends with (systemd's own default for services). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** PATH for the unit: the shims (bun, bunx, node for modules), the binary's folder, the system's. */
export function unitPath(home: string, binary: string): string {
  const dirs = [join(home, 'bin'), binary.slice(0, binary.lastIndexOf('/')) || '/'];
  for (const dir of SYSTEM_PATH.split(':')) if (!dirs.includes(dir)) dirs.push(dir);
  return dirs.join(':');
}

/** The unit file of a scope: /etc/systemd/system, ~/.config/systemd/user or ~/Library/LaunchAgents. */
export function unitFile(scope: UnitScope, env: Record<string, string | undefined>): string {
  if (scope === 'system') return SYSTEM_UNIT_PATH;
  const home = env.HOME ?? '';
  if (scope === 'launchd') return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const config = env.XDG_CONFIG_HOME || join(home, '.config');
  return join(config, 'systemd', 'user', UNIT_NAME);
}
