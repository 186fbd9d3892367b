import { join } from 'node:path';
import type { HubService, ServiceProbe } from './hub-service.ts';

/** The label of the LaunchAgent install.sh writes (deploy.md). */
export const LAUNCHD_LABEL = 'computer.parachute.hub';

/**
 * The hub's LaunchAgent, or null. The agent has KeepAlive, so a stop that
 * only signals the hub would see launchd start it again: stop unloads the
 * job (`bootout`), and start loads it back before kicking it.
 */
export function launchdService({ env, exists, uid }: ServiceProbe): HubService | null {
  if (!env.HOME || uid === undefined) return null;
  const plist = join(env.HOME, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  if (!exists(plist)) return null;
  const domain = `gui/${uid}`;
  const job = `${domain}/${LAUNCHD_LABEL}`;
  return {
    manager: 'launchd',
    unit: plist,
    steps: (verb) => {
      if (verb === 'stop') return [{ argv: ['launchctl', 'bootout', job] }];
      if (verb === 'restart') return [{ argv: ['launchctl', 'kickstart', '-k', job] }];
      // bootstrap fails when the job is already loaded, which is fine: kickstart then runs it.
      return [
        { argv: ['launchctl', 'bootstrap', domain, plist], mayFail: true },
        { argv: ['launchctl', 'kickstart', job] },
      ];
    },
  };
}
