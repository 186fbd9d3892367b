import type { Database } from 'bun:sqlite';
import { backupRuns } from '../backup/backup-runs.ts';
import type { BackupScheduler } from '../backup/backup-scheduler.ts';
import { VERSION } from '../version.ts';
import { type UpgradeStatus, writeStatus } from './upgrade-status.ts';

/**
 * Before an upgrade started from the admin UI or API, when scheduled
 * backups are set up: one full backup to their target, proven by its
 * restore drill, recorded as the upgrade's first steps (upgrade.json, so the
 * Upgrade page shows it). Resolves true when the upgrade may go on; false
 * when the backup failed, the upgrade then having failed with the reason
 * and nothing replaced. (Without backup settings the upgrade backs up
 * hub.db itself, run-upgrade.ts.)
 */
export async function backupBeforeUpgrade(options: {
  backups: BackupScheduler;
  db: Database;
  home: string;
  id: string;
  to: string | null;
}): Promise<boolean> {
  const { backups, db, home, id } = options;
  const now = () => new Date().toISOString();
  const status: UpgradeStatus = {
    id,
    state: 'running',
    from: VERSION,
    to: options.to,
    started_at: now(),
    finished_at: null,
    steps: [],
    error: null,
  };
  const step = (message: string) => {
    status.steps.push({ at: now(), message });
    writeStatus(home, status);
  };
  const fail = (error: string) => {
    status.state = 'failed';
    status.error = error;
    status.finished_at = now();
    writeStatus(home, status);
    return false;
  };
  step('Backing up the whole hub to the backup target first');
  // A scheduled run already going is waited for, then this one runs: the upgrade needs a fresh one.
  let started = backups.runNow('upgrade');
  for (let waited = 0; !started && backups.running && waited < 3_600; waited++) {
    await Bun.sleep(1000);
    started = backups.runNow('upgrade');
  }
  if (!started) return fail('The backup before the upgrade could not start. Nothing was upgraded.');
  // Each stage is a step: the page shows progress, and a long backup is not taken for a dead upgrade.
  let stage = '';
  const watch = setInterval(() => {
    const run = backupRuns.get(db, started.run.id);
    if (run && run.state === 'running' && run.stage !== stage) {
      stage = run.stage;
      step(`Backup: ${stage}`);
    }
  }, 1000);
  const run = await started.done.finally(() => clearInterval(watch));
  if (run.state !== 'ok') {
    return fail(
      `The backup before the upgrade failed at ${run.stage}: ${run.error ?? 'no reason recorded'} Nothing was upgraded; fix the backup on the Backup page, then upgrade again.`,
    );
  }
  step(
    `Backup ${run.object} written to ${run.target} and restored by its drill (${run.drill?.databases ?? 0} databases, ${run.drill?.rows ?? 0} rows)`,
  );
  return true;
}
