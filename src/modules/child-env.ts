import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The hub's own secrets and supervisor plumbing never reach a module
// (modules.md section 4, fix). NOTIFY_SOCKET belongs to the hub's unit.
const WITHHELD = [
  'PARACHUTE_INITIAL_ADMIN_PASSWORD',
  'PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE',
  'PARACHUTE_INITIAL_ADMIN_USERNAME',
  // One-time secrets of a Fly deploy (README, "Deploy to Fly").
  'PARACHUTE_SETUP_TOKEN',
  'PARACHUTE_IMPORT_TOKEN',
  // The hosting provider's export credential (README, "Hosting many hubs").
  'PARACHUTE_EXPORT_TOKEN',
  'NOTIFY_SOCKET',
];

/** Parses KEY=value lines (# comments, optional quotes, `export ` prefix). */
export function parseDotEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    vars[line.slice(0, eq).trim()] = value;
  }
  return vars;
}

/**
 * The environment of a module's process: the hub's minus its secrets, the
 * module's `$PARACHUTE_HOME/<name>/.env`, then what the hub decides (PORT
 * from the registry always wins over the .env file).
 */
export function childEnv(options: {
  hubEnv: Record<string, string | undefined>;
  home: string;
  shimsDir: string;
  moduleName: string;
  port: number;
  origin: string;
  origins: string[];
}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.hubEnv)) {
    if (value !== undefined && !WITHHELD.includes(key)) env[key] = value;
  }
  const dotEnv = join(options.home, options.moduleName, '.env');
  if (existsSync(dotEnv)) Object.assign(env, parseDotEnv(readFileSync(dotEnv, 'utf8')));
  return {
    ...env,
    PORT: String(options.port),
    PARACHUTE_HOME: options.home,
    PARACHUTE_HUB_ORIGIN: options.origin,
    PARACHUTE_HUB_ORIGINS: options.origins.join(','),
    PATH: [options.shimsDir, env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':'),
  };
}
