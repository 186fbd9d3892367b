import { rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { detectAsset, releaseFolder } from '../platform/release-asset.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { managerFor } from '../platform/units/host-unit.ts';
import { type UnitScope, unitFile } from '../platform/units/unit-config.ts';
import { VERSION } from '../version.ts';
import { newer } from './latest-release.ts';
import { backupHubDb } from './pre-upgrade-backup.ts';
import { binaryVersion, downloadVerified } from './release-download.ts';
import { rollBack, swapIn } from './swap-binary.ts';
import {
  readStatus,
  type UpgradeState,
  type UpgradeStatus,
  writeStatus,
} from './upgrade-status.ts';

/** How long a restarted hub has to answer /health with the new version (deploy.md). */
export const HEALTH_TIMEOUT_MS = 60_000;

export interface UpgradePlan {
  id: string;
  home: string;
  /** The binary to replace: the one the service manager starts. */
  binary: string;
  /** The hub's loopback port, for /health. */
  port: number;
  to?: string;
  env: Record<string, string | undefined>;
  /** The service manager (or the Fly launcher) that restarts the hub, or null when none runs it. */
  manager: UnitScope | 'fly-boot' | null;
  healthTimeoutMs?: number;
  /**
   * Refuse an older release: set for requests from the hub's account (the
   * system unit's trigger), which modules share, so that they can never
   * bring back a release whose flaw a newer one fixed.
   */
  newerOnly?: boolean;
  /** Each step as it happens (the CLI prints them). */
  say?: (message: string) => void;
}

/**
 * Upgrades the hub binary: download and verify, back up, swap, restart,
 * watch /health; roll back to parachute.prev when the new one does not come
 * up. Every step lands in <home>/upgrade.json. Resolves with the final status.
 */
export async function runUpgrade(plan: UpgradePlan): Promise<UpgradeStatus> {
  const now = () => new Date().toISOString();
  // Steps the hub wrote for this upgrade before starting it (its backup) stay in front.
  const earlier = readStatus(plan.home);
  const same = earlier?.id === plan.id ? earlier : null;
  const status: UpgradeStatus = {
    id: plan.id,
    state: 'running',
    from: VERSION,
    to: plan.to ?? null,
    started_at: same?.started_at ?? now(),
    finished_at: null,
    steps: same?.steps ?? [],
    error: null,
  };
  const step = (message: string) => {
    status.steps.push({ at: now(), message });
    plan.say?.(message);
    writeStatus(plan.home, status);
  };
  const finish = (state: UpgradeState, error: string | null = null) => {
    status.state = state;
    status.error = error;
    status.finished_at = now();
    writeStatus(plan.home, status);
    return status;
  };
  const fresh = join(dirname(plan.binary), `.${basename(plan.binary)}.new.${process.pid}`);
  let swapped = false;
  try {
    step(`Upgrading the hub from ${VERSION}`);
    // Replaced earlier but never restarted: another swap would make parachute.prev the unstarted one.
    const onDisk = binaryVersion(plan.binary);
    if (onDisk !== VERSION) {
      throw new OperatorError(
        `${plan.binary} is already ${onDisk}, but this hub still runs ${VERSION}.`,
        'Restart the hub to run it; nothing was changed.',
      );
    }
    const folder = releaseFolder(plan.env, plan.to);
    const asset = detectAsset();
    step(`Downloading ${asset} from ${folder} and checking it against SHA256SUMS`);
    await downloadVerified(folder, asset, fresh).catch((error) => {
      rmSync(fresh, { force: true });
      throw error;
    });
    const version = binaryVersion(fresh);
    status.to = version;
    if (plan.to && version !== plan.to.replace(/^v/, '')) {
      throw new OperatorError(
        `the release at ${folder} is ${version}, not ${plan.to}.`,
        'Nothing was replaced. Point PARACHUTE_RELEASE_URL at that release, or leave out --to.',
      );
    }
    if (version === VERSION) {
      rmSync(fresh, { force: true });
      step(`${plan.binary} is already ${version}: nothing to do`);
      return finish('succeeded');
    }
    if (plan.newerOnly && !newer(version, VERSION)) {
      rmSync(fresh, { force: true });
      throw new OperatorError(
        `${version} is older than the running ${VERSION}: an upgrade from the admin UI only goes forward.`,
        "Nothing was replaced. To go back to an older release, run `sudo parachute upgrade --hub --to <version>` on the hub's machine.",
      );
    }
    step(`Verified ${version}; backing up hub.db`);
    const backup = backupHubDb(plan.home, VERSION, version);
    step(`Backup written: ${backup}`);
    swapIn(plan.binary, fresh);
    swapped = true;
    step(`Replaced ${plan.binary} (the previous binary is kept as ${plan.binary}.prev)`);
    if (!plan.manager) {
      step('No service manager runs this hub: restart it to run the new version');
      return finish('restart_needed');
    }
    const timeout = plan.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
    if (plan.manager === 'fly-boot') {
      // The launcher (src/fly/launcher.ts) restarts it, gates on /health and rolls back; it finishes upgrade.json.
      step('Restarting the hub through its launcher (fly-boot)');
      askLauncherRestart(plan.home);
      return await launcherOutcome(plan.home, plan.id, timeout);
    }
    const manager = managerFor(plan.manager, unitFile(plan.manager, plan.env), plan.env);
    step('Restarting the hub through its service manager');
    await restart(manager, plan.home);
    if (await healthyAt(plan.port, version, timeout)) {
      step(`The hub answers /health with ${version}`);
      return finish('succeeded');
    }
    step(
      `The new hub did not answer /health with ${version} within ${timeout / 1000} s: rolling back`,
    );
    rollBack(plan.binary);
    await restart(manager, plan.home);
    const back = await healthyAt(plan.port, VERSION, HEALTH_TIMEOUT_MS);
    step(
      back
        ? `Rolled back: ${VERSION} answers again`
        : `Rolled back to ${VERSION}, which does not answer yet`,
    );
    return finish(
      'rolled_back',
      `${version} did not answer in time; \`${manager.logCommand(plan.home)}\` shows why.`,
    );
  } catch (error) {
    rmSync(fresh, { force: true });
    const message =
      error instanceof OperatorError ? `${error.message} ${error.hint}` : (error as Error).message;
    step(`Failed: ${message}`);
    // Failing after the swap (a restart that errored) still puts the old binary back.
    if (swapped) {
      try {
        rollBack(plan.binary);
        step(`Put ${VERSION} back in place`);
      } catch {}
    }
    return finish('failed', message);
  }
}

/**
 * Asks the hub that runs under the Fly launcher to stop cleanly (modules
 * first) and exit 75, which the launcher reads as "restart into the new
 * binary": SIGUSR2 to its pid from run/hub.json (serve.ts handles it only
 * under the launcher).
 */
function askLauncherRestart(home: string): void {
  const runtime = readRuntime(home);
  // Only a hub that says it runs under the launcher handles SIGUSR2 (to others it is fatal).
  if (runtime?.launcher !== 'fly-boot') {
    throw new OperatorError(
      'no hub running under the Fly launcher was found in run/hub.json to restart.',
      'Restart the machine (its launcher runs the new binary): `fly machine restart`.',
    );
  }
  process.kill(runtime.pid, 'SIGUSR2');
}

/** Waits for the launcher to finish this upgrade in upgrade.json; the status as it stands at the deadline. */
async function launcherOutcome(
  home: string,
  id: string,
  timeoutMs: number,
): Promise<UpgradeStatus> {
  // The old hub's clean stop, the new one's gate, and a rollback's own gate.
  const deadline = performance.now() + 2 * timeoutMs + 2 * HEALTH_TIMEOUT_MS;
  for (;;) {
    const status = readStatus(home);
    if (status?.id === id && status.state !== 'running') return status;
    if (status && performance.now() > deadline) return status;
    await Bun.sleep(250);
  }
}

async function restart(manager: ReturnType<typeof managerFor>, home: string): Promise<void> {
  await manager.apply({ changed: false, restart: true, noStart: false, home });
}

/** Polls loopback /health until it reports `version`, for up to `timeoutMs`. */
export async function healthyAt(
  port: number,
  version: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, {
        signal: AbortSignal.timeout(2000),
      });
      const body = (await res.json()) as { version?: string };
      if (res.ok && body.version === version) return true;
    } catch {
      // Not up yet.
    }
    await Bun.sleep(250);
  }
  return false;
}
