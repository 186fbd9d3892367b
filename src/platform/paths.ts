import { homedir } from 'node:os';
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
  return resolve(fromEnv ? fromEnv : join(homedir(), '.parachute'));
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
