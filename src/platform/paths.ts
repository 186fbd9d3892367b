import { join, resolve } from 'node:path';

/** Where the hub keeps each piece of its state under PARACHUTE_HOME. */
export interface HubPaths {
  home: string;
  db: string;
  servicesJson: string;
  operatorToken: string;
  modules: string;
  bin: string;
  run: string;
  logs: string;
}

/** PARACHUTE_HOME from the environment, else ~/.parachute, always absolute. */
export function resolveHome(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.PARACHUTE_HOME?.trim();
  return resolve(fromEnv ? fromEnv : join(homeDirectory(env), '.parachute'));
}

// $HOME is set for logins, systemd units with User= and containers; node:os
// (a few MB of runtime code in every hub process) is loaded only without it.
function homeDirectory(env: Record<string, string | undefined>): string {
  return env.HOME || (require('node:os') as typeof import('node:os')).homedir();
}

/** The fixed layout of a hub home (product.md, "State lives in PARACHUTE_HOME"). */
export function hubPaths(home: string): HubPaths {
  return {
    home,
    db: join(home, 'hub.db'),
    servicesJson: join(home, 'services.json'),
    operatorToken: join(home, 'operator.token'),
    modules: join(home, 'modules'),
    bin: join(home, 'bin'),
    run: join(home, 'run'),
    logs: join(home, 'logs'),
  };
}
