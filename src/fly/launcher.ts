import { randomUUID } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Subprocess } from 'bun';
import { ensureHome } from '../platform/home.ts';
import { operatorMessage } from '../platform/operator-error.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { backupHubDb } from '../upgrade/pre-upgrade-backup.ts';
import { HEALTH_TIMEOUT_MS } from '../upgrade/run-upgrade.ts';
import { prevPath, rollBack, swapIn } from '../upgrade/swap-binary.ts';
import {
  readStatus,
  type UpgradeState,
  type UpgradeStatus,
  writeStatus,
} from '../upgrade/upgrade-status.ts';
import { VERSION } from '../version.ts';
import { IMPORT_EXIT, LAUNCHER_NAME, RESTART_EXIT } from './launcher-exit.ts';
import { importStaged } from './staged-import.ts';
import {
  fetchRelease,
  installedVersion,
  lastRequest,
  rememberRequest,
  requestedVersion,
  volumeBinary,
} from './volume-binary.ts';

type Env = Record<string, string | undefined>;

export interface LauncherOptions {
  home: string;
  env: Env;
  say?: (message: string) => void;
}

/** An upgrade (or a PARACHUTE_VERSION roll) whose new binary must answer /health before it counts. */
interface Gate {
  /** The version /health must report. */
  version: string;
  /** upgrade.json's record of it, finished here; null when none was written. */
  status: UpgradeStatus | null;
}

/**
 * `parachute fly-boot`: what the Fly machine runs (the image's binary is only
 * this launcher). It makes sure the hub binary on the volume is there and is
 * the version PARACHUTE_VERSION asks for, runs it as `serve`, forwards
 * SIGTERM/SIGINT to it and exits with its code; exit 75 (an upgrade swapped
 * the binary) restarts it and gates on /health, rolling back to
 * parachute.prev; exit 76 imports a staged export, then restarts it.
 */
export async function runLauncher(options: LauncherOptions): Promise<number> {
  const { home, env } = options;
  const say = options.say ?? ((message: string) => console.log(`[fly-boot] ${message}`));
  ensureHome(home);
  const binary = volumeBinary(home);
  let child: Subprocess | null = null;
  let stopping: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    say(`${signal} received: stopping the hub`);
    child?.kill(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let gate = await prepareBinary(home, env, binary, say);
  const timeoutMs = healthTimeout(env);
  for (;;) {
    if (stopping) return 0;
    let running = startChild(binary, env);
    child = running;
    if (gate) {
      const { version, status } = gate;
      gate = null;
      if (await healthy(home, running, version, timeoutMs)) {
        step(home, status, say, `The hub answers /health with ${version}`);
        finish(home, status, 'succeeded');
      } else if (!stopping) {
        step(
          home,
          status,
          say,
          `The new hub did not answer /health with ${version} within ${timeoutMs / 1000} s: rolling back`,
        );
        running.kill('SIGTERM');
        await running.exited;
        try {
          rollBack(binary);
        } catch (error) {
          step(home, status, say, `Rollback failed: ${operatorMessage(error)}`);
          finish(home, status, 'failed', operatorMessage(error));
          return 1;
        }
        running = startChild(binary, env);
        child = running;
        const previous = installedVersion(binary) ?? 'the previous version';
        const up = await healthy(home, running, previous, HEALTH_TIMEOUT_MS);
        step(
          home,
          status,
          say,
          up
            ? `Rolled back: ${previous} answers again`
            : `Rolled back to ${previous}, which does not answer yet`,
        );
        finish(
          home,
          status,
          'rolled_back',
          `${version} did not answer in time; the machine's log (\`fly logs\`) shows why.`,
        );
      }
    }
    const code = await running.exited;
    const next = await afterExit(code);
    if (next === 'exit') return code;
    gate = next;
  }

  /** What the child's exit means: the launcher ends, or starts it again (gated after an upgrade). */
  async function afterExit(code: number): Promise<Gate | null | 'exit'> {
    if (stopping) return 'exit';
    if (code === RESTART_EXIT) {
      const status = readStatus(home);
      const version = installedVersion(binary);
      say(`The hub exited to restart into its new binary (${version ?? 'unknown version'})`);
      if (!version) return null;
      const running = status?.state === 'running' ? status : null;
      step(home, running, say, `Restarting the hub with ${version} (${LAUNCHER_NAME})`);
      return { version, status: running };
    }
    if (code === IMPORT_EXIT) {
      await importStaged(home, say);
      return null;
    }
    say(`The hub exited with code ${code}`);
    return 'exit';
  }
}

/**
 * Seeds the volume binary when missing, or swaps in PARACHUTE_VERSION when
 * it asks for another version than the volume holds and is a new request
 * (not the one already acted on: an upgrade from the admin UI since then must
 * survive a restart). Returns the gate for a swapped binary, else null.
 */
async function prepareBinary(
  home: string,
  env: Env,
  binary: string,
  say: (message: string) => void,
): Promise<Gate | null> {
  let want: string | null = null;
  try {
    want = requestedVersion(env);
  } catch (error) {
    say(`${operatorMessage(error)} Keeping the hub binary as it is.`);
  }
  const fresh = join(dirname(binary), `.${basename(binary)}.new.${process.pid}`);
  const current = installedVersion(binary);
  if (!current) {
    const version = want ?? VERSION;
    say(`No hub binary on the volume yet: installing ${version} at ${binary}`);
    try {
      await fetchRelease(env, version, fresh, say);
    } catch (error) {
      // A first boot must come up: the launcher's own binary is the one it knows runs.
      say(`${operatorMessage(error)} Using this launcher's own binary (${VERSION}) instead.`);
      await fetchRelease({}, VERSION, fresh, say);
    }
    renameSync(fresh, binary);
    if (want) rememberRequest(home, want);
    return null;
  }
  if (!want || want === current || want === lastRequest(home)) {
    if (want) rememberRequest(home, want);
    say(`Hub binary ${current} at ${binary}`);
    return null;
  }
  // A new request: remembered whatever happens, so a failed roll is not retried at every boot.
  rememberRequest(home, want);
  const status = newStatus(home, current, want);
  step(home, status, say, `Rolling the hub from ${current} to ${want} (PARACHUTE_VERSION)`);
  try {
    await fetchRelease(env, want, fresh, say);
    if (existsSync(join(home, 'hub.db'))) {
      step(home, status, say, `Verified ${want}; backing up hub.db`);
      step(home, status, say, `Backup written: ${backupHubDb(home, current, want)}`);
    }
    swapIn(binary, fresh);
    step(
      home,
      status,
      say,
      `Replaced ${binary} (the previous binary is kept as ${prevPath(binary)})`,
    );
    return { version: want, status };
  } catch (error) {
    step(home, status, say, `Failed: ${operatorMessage(error)} Keeping ${current}.`);
    finish(home, status, 'failed', operatorMessage(error));
    return null;
  }
}

function startChild(binary: string, env: Env): Subprocess {
  return Bun.spawn([binary, 'serve'], {
    env: { ...env, PARACHUTE_LAUNCHER: LAUNCHER_NAME },
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: 'inherit',
  });
}

/** Polls the child's /health (its port from run/hub.json) until it reports `version`; false if it ends first. */
async function healthy(
  home: string,
  child: Subprocess,
  version: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const runtime = readRuntime(home);
    if (runtime?.pid === child.pid) {
      try {
        const res = await fetch(`http://127.0.0.1:${runtime.port}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        const body = (await res.json()) as { version?: string };
        if (res.ok && body.version === version) return true;
      } catch {
        // Not answering yet.
      }
    }
    await Bun.sleep(200);
  }
  return false;
}

function healthTimeout(env: Env): number {
  const seconds = Number(env.PARACHUTE_UPGRADE_HEALTH_S);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : HEALTH_TIMEOUT_MS;
}

function newStatus(home: string, from: string, to: string): UpgradeStatus {
  const status: UpgradeStatus = {
    id: randomUUID(),
    state: 'running',
    from,
    to,
    started_at: new Date().toISOString(),
    finished_at: null,
    steps: [],
    error: null,
  };
  writeStatus(home, status);
  return status;
}

/** One step of the upgrade the launcher finishes, in upgrade.json (as run-upgrade.ts writes them) and the log. */
function step(
  home: string,
  status: UpgradeStatus | null,
  say: (message: string) => void,
  message: string,
): void {
  say(message);
  if (!status) return;
  status.steps.push({ at: new Date().toISOString(), message });
  writeStatus(home, status);
}

function finish(
  home: string,
  status: UpgradeStatus | null,
  state: UpgradeState,
  error: string | null = null,
): void {
  if (!status) return;
  status.state = state;
  status.error = error;
  status.finished_at = new Date().toISOString();
  writeStatus(home, status);
}
