import { join } from 'node:path';
import type { HubService, ServiceProbe } from './hub-service.ts';

/** Where install.sh puts the unit when run as root (deploy.md). */
export const SYSTEM_UNIT = '/etc/systemd/system/parachute.service';

/** The hub's systemd unit: the system one, else the user's, else null. */
export function systemdService({ env, exists }: ServiceProbe): HubService | null {
  if (exists(SYSTEM_UNIT)) {
    return {
      manager: 'systemd',
      unit: SYSTEM_UNIT,
      steps: (verb) => [{ argv: ['systemctl', verb, 'parachute'] }],
    };
  }
  // systemd looks for user units under $XDG_CONFIG_HOME, which defaults to ~/.config.
  const config = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : null);
  const unit = config ? join(config, 'systemd', 'user', 'parachute.service') : null;
  if (!unit || !exists(unit)) return null;
  return {
    manager: 'systemd',
    unit,
    steps: (verb) => [{ argv: ['systemctl', '--user', verb, 'parachute'] }],
  };
}
