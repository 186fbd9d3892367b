import type { Database } from 'bun:sqlite';
import type { StoredBackupConfig } from './backup-config.ts';
import { backupRuns } from './backup-runs.ts';
import type { BackupTarget } from './targets/target.ts';

const DAY = 86_400_000;

/**
 * Removes from the target the archives retention no longer keeps: past the
 * newest `keep`, or older than `max_age_days`. Only archives this hub wrote
 * and recorded are touched (never anything else in a shared bucket or
 * folder), never the run just proven, and never the newest good archive
 * however old. Archives of failed runs that could not be removed when they
 * failed are removed here too.
 */
export async function applyRetention(
  db: Database,
  target: BackupTarget,
  retention: StoredBackupConfig['retention'],
  currentRunId: number,
  now = Date.now(),
): Promise<number> {
  const where = target.describe();
  const oldest = now - retention.max_age_days * DAY;
  // The run just proven is the newest kept archive (it is marked ok only after this).
  const older = backupRuns.kept(db, where).filter((run) => run.id !== currentRunId);
  const doomed = older.filter((run, i) => i + 1 >= retention.keep || run.started_at < oldest);
  const unproven = backupRuns.unprovenObjects(db, where).filter((run) => run.id !== currentRunId);
  let removed = 0;
  for (const run of [...doomed, ...unproven]) {
    await target.remove(run.object as string);
    backupRuns.update(db, run.id, run.state === 'ok' ? { pruned_at: now } : { object: null });
    removed++;
  }
  return removed;
}
