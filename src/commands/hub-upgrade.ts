import { randomUUID } from 'node:crypto';
import { LAUNCHER_NAME, underLauncher } from '../fly/launcher-exit.ts';
import { volumeBinary } from '../fly/volume-binary.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { installedUnit } from '../platform/units/host-unit.ts';
import { DEFAULT_PORT, type UnitScope } from '../platform/units/unit-config.ts';
import { runUpgrade, type UpgradePlan } from '../upgrade/run-upgrade.ts';
import { upgradeRefusal } from '../upgrade/upgrade-refusal.ts';
import { hubUnitEnvironment, takeRequest } from '../upgrade/upgrade-request.ts';
import { readStatus, upgradeRunning } from '../upgrade/upgrade-status.ts';
import { cliHome } from './cli-home.ts';
import { EXIT, UsageError } from './command.ts';
import type { ParsedFlags } from './flags.ts';
import { reportError } from './hub-client.ts';

type Env = Record<string, string | undefined>;

/**
 * `parachute upgrade --hub [--to V]`: this CLI does the whole upgrade itself
 * and watches the restart, since the hub it replaces goes away mid-way.
 * `--watch` (with --manager, --port, --id) is how the hub starts the same
 * code as a detached watcher for an upgrade asked for in the admin UI.
 */
export async function upgradeHub(flags: ParsedFlags, env: Env = process.env): Promise<number> {
  const { values, positionals } = flags;
  if (positionals.length > 0)
    throw new UsageError('--hub upgrades the hub itself and takes no module name');
  const to = typeof values.to === 'string' ? values.to : undefined;
  if (to !== undefined && !/^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(to))
    throw new UsageError(`--to wants a version such as 0.2.0, not "${to}"`);
  try {
    const home = cliHome(env);
    const onVolume = volumeBinary(home);
    const launched = readRuntime(home)?.launcher === LAUNCHER_NAME;
    if (!underLauncher(env) && launched && process.execPath !== onVolume) {
      // A shell on a Fly machine runs the image's parachute (the launcher): the hub binary is on the volume.
      return await Bun.spawn([onVolume, ...process.argv.slice(2)], {
        env: { ...env, PARACHUTE_LAUNCHER: LAUNCHER_NAME },
        stdio: ['inherit', 'inherit', 'inherit'],
      }).exited;
    }
    const refusal = upgradeRefusal(env);
    if (refusal) throw refusal;
    if (values['from-request']) return await fromRequest(env);
    const plan = values.watch ? watcherPlan(values, env) : cliPlan(env);
    const current = readStatus(plan.home);
    if (!values.watch && upgradeRunning(current)) {
      throw new OperatorError(
        'an upgrade of this hub is already running.',
        'Wait for it to finish (the Upgrade page shows it), then try again.',
      );
    }
    const status = await runUpgrade({
      ...plan,
      ...(to !== undefined ? { to } : {}),
      env,
      id: typeof values.id === 'string' ? values.id : randomUUID(),
      healthTimeoutMs: healthTimeout(env),
      say: (message) => console.log(message),
    });
    if (status.state === 'succeeded' || status.state === 'restart_needed') return EXIT.ok;
    console.error(
      `parachute: ${status.state === 'rolled_back' ? 'rolled back: ' : ''}${status.error}`,
    );
    return EXIT.failure;
  } catch (error) {
    return reportError(error);
  }
}

/**
 * The system unit's trigger (upgrade-trigger.ts), as root: the request names
 * only the id and version; the release URL and health wait come from the hub
 * unit's own environment.
 */
async function fromRequest(env: Env): Promise<number> {
  if (process.getuid?.() !== 0) {
    throw new OperatorError(
      "--from-request is run by the system unit's upgrade trigger, as root.",
      'Use `sudo parachute upgrade --hub`.',
    );
  }
  const home = cliHome(env);
  const request = takeRequest(home);
  const hubEnv = await hubUnitEnvironment();
  const unitEnv: Env = { ...env };
  for (const name of ['PARACHUTE_RELEASE_URL', 'PARACHUTE_UPGRADE_HEALTH_S']) {
    if (hubEnv[name] !== undefined) unitEnv[name] = hubEnv[name];
    else delete unitEnv[name];
  }
  const unit = installedUnit(env);
  const status = await runUpgrade({
    id: request.id,
    home,
    binary: process.execPath,
    port: unit?.port ?? DEFAULT_PORT,
    ...(request.to ? { to: request.to } : {}),
    env: unitEnv,
    manager: 'system',
    newerOnly: true,
    healthTimeoutMs: healthTimeout(unitEnv),
    say: (message) => console.log(message),
  });
  return status.state === 'succeeded' ? EXIT.ok : EXIT.failure;
}

/** The hub this user's CLI drives: its installed unit (if any) and the binary that unit starts. */
function cliPlan(env: Env) {
  const home = cliHome(env);
  const binary = process.execPath;
  const unit = installedUnit(env);
  let manager: UnitScope | null = null;
  if (unit) {
    if (unit.scope === 'system' && process.getuid?.() !== 0) {
      throw new OperatorError(
        'the hub runs as a system service: replacing its binary and restarting it needs root.',
        'Run `sudo parachute upgrade --hub`.',
      );
    }
    if (!unit.text.includes(binary)) {
      throw new OperatorError(
        `the hub's service starts another binary than this one (${binary}).`,
        `Run the parachute that ${unit.file} starts: \`<that binary> upgrade --hub\`.`,
      );
    }
    manager = unit.scope;
  }
  const port = unit?.port ?? readRuntime(home)?.port ?? DEFAULT_PORT;
  const restarter: UpgradePlan['manager'] = underLauncher(env) ? LAUNCHER_NAME : manager;
  return { home, binary, port, manager: restarter };
}

/** The watcher the hub spawned: it says which manager runs it and on which port. */
function watcherPlan(values: ParsedFlags['values'], env: Env) {
  const manager = values.manager;
  const known = ['system', 'user', 'launchd', LAUNCHER_NAME, 'none'];
  if (typeof manager !== 'string' || !known.includes(manager))
    throw new UsageError(`--watch needs --manager ${known.join('|')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new UsageError('--watch needs --port');
  return {
    home: cliHome(env),
    binary: process.execPath,
    port,
    manager: manager === 'none' ? null : (manager as UnitScope | typeof LAUNCHER_NAME),
  };
}

/** PARACHUTE_UPGRADE_HEALTH_S shortens the 60 s health wait (the rollback tests). */
function healthTimeout(env: Env): number | undefined {
  const seconds = Number(env.PARACHUTE_UPGRADE_HEALTH_S);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
