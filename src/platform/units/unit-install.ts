import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { OperatorError } from '../operator-error.ts';
import { resolveHome } from '../paths.ts';
import { hostScope, managerFor } from './host-unit.ts';
import { renderLaunchdPlist } from './launchd-plist.ts';
import type { StartOutcome } from './manager.ts';
import { renderSystemdUnit } from './systemd-unit.ts';
import {
  DEFAULT_PORT,
  SYSTEM_HOME,
  SYSTEM_USER,
  type UnitConfig,
  type UnitScope,
  unitFile,
  unitPath,
} from './unit-config.ts';
import { unitSettings } from './unit-settings.ts';
import { installUpgradeTrigger } from './upgrade-trigger.ts';
import { waitForHub } from './wait-for-hub.ts';

type Env = Record<string, string | undefined>;

export interface InstallOptions {
  port?: number;
  home?: string;
  /** Restart a running hub even when the unit did not change (install.sh passes it after a new binary). */
  restart?: boolean;
  noStart?: boolean;
}

export interface Installed {
  config: UnitConfig;
  file: string;
  written: boolean;
  outcome: StartOutcome;
  /** One line for the operator (and install.sh's log). */
  line: string;
}

/**
 * `parachute unit install`: renders this host's unit for the running binary,
 * writes it only when its content differs, enables it, and starts the hub
 * (or restarts it when the unit changed or `restart` is asked), then waits
 * for /health. Safe to run again: an unchanged unit with a running hub is
 * left alone.
 */
export async function installUnit(
  options: InstallOptions,
  env: Env = process.env,
): Promise<Installed> {
  const scope = hostScope(env);
  const file = unitFile(scope, env);
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : null;
  const config = unitConfig(scope, options, previous ? unitSettings(previous) : {}, env);
  const content = scope === 'launchd' ? renderLaunchdPlist(config) : renderSystemdUnit(config);
  const manager = managerFor(scope, file, env);
  await manager.prepare(config);
  const written = content !== previous;
  if (written) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, content, { mode: 0o644 });
  }
  const outcome = await manager.apply({
    changed: written,
    restart: options.restart === true,
    noStart: options.noStart === true,
    home: config.home,
  });
  if (outcome === 'started' || outcome === 'restarted') {
    await waitForHub(config.port, manager, config.home);
  }
  // The system hub may not replace its own binary: a root trigger does it (upgrade-trigger.ts).
  if (scope === 'system') await installUpgradeTrigger(config);
  const url = `http://127.0.0.1:${config.port}`;
  const what =
    outcome === 'not started' ? 'hub not started (--no-start)' : `hub ${outcome} on ${url}`;
  return {
    config,
    file,
    written,
    outcome,
    line: `${file}: ${written ? 'written' : 'unchanged'}; ${what}`,
  };
}

/** Port and home: the flags, else what the installed unit already says, else the defaults. */
function unitConfig(
  scope: UnitScope,
  options: InstallOptions,
  previous: { home?: string; port?: number },
  env: Env,
): UnitConfig {
  const binary = process.execPath;
  // Run from source (`bun src/cli.ts`) the unit would start Bun itself, not the hub.
  if (basename(binary) === 'bun' || basename(binary) === 'node') {
    throw new OperatorError(
      `this is ${binary} running the source, not the compiled parachute binary.`,
      'Install the unit from the binary: `./dist/parachute unit install` (build it with `npm run build`).',
    );
  }
  const fallbackHome =
    scope === 'system' ? SYSTEM_HOME : resolveHome({ ...env, PARACHUTE_HOME: '' });
  const home = resolve(
    options.home ?? (env.PARACHUTE_HOME?.trim() || previous.home || fallbackHome),
  );
  return {
    scope,
    binary,
    home,
    port: options.port ?? previous.port ?? DEFAULT_PORT,
    ...(scope === 'system' ? { user: SYSTEM_USER } : {}),
    path: unitPath(home, binary),
  };
}
