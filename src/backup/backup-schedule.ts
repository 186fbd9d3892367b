import type { StoredBackupConfig } from './backup-config.ts';
import type { BackupRun } from './backup-runs.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** No good backup for this long is "missing" (issue 18: none good in 26 h). */
export const MISSING_AFTER_MS = 26 * HOUR;

/** A weekly schedule is missing a backup only past its week (and two hours' slack). */
export function missingAfterMs(schedule: StoredBackupConfig['schedule']): number {
  return schedule.every === 'weekly' ? 7 * DAY + 2 * HOUR : MISSING_AFTER_MS;
}
/** A scheduled run that failed is tried again this soon, not a whole period later. */
export const RETRY_AFTER_MS = HOUR;

/** A scheduled run that began this close to a slot has taken it. */
const SAME_SLOT_MS = 60_000;

/**
 * When the next scheduled run is due, in ms, from the last run the
 * schedule itself started (manual runs do not move the schedule). The
 * first run of a new schedule is due at once, so the operator learns now
 * whether it works. After that, runs fall on the schedule's slots (every
 * hour at :MM, every day at HH:MM in the hub's time zone; weekly, the
 * first such slot 6½ days on); a slot missed while the hub was down is
 * due at once. A failed run is tried again within the hour.
 */
export function nextRunAt(
  schedule: StoredBackupConfig['schedule'],
  lastScheduled: Pick<BackupRun, 'started_at' | 'state'> | null,
): number {
  if (!lastScheduled) return Date.now();
  const earliest =
    lastScheduled.started_at + (schedule.every === 'weekly' ? 6.5 * DAY : SAME_SLOT_MS);
  const slot = firstSlotFrom(schedule, earliest);
  if (lastScheduled.state === 'failed') {
    return Math.min(slot, lastScheduled.started_at + RETRY_AFTER_MS);
  }
  return slot;
}

/** The first slot at or after `from`: :MM of an hour, or HH:MM of a day, in local time. */
function firstSlotFrom(schedule: StoredBackupConfig['schedule'], from: number): number {
  const [hh, mm] = schedule.at.split(':').map(Number) as [number, number];
  const at = new Date(from);
  if (schedule.every === 'hourly') {
    at.setMinutes(mm, 0, 0);
    if (at.getTime() < from) at.setHours(at.getHours() + 1);
    return at.getTime();
  }
  at.setHours(hh, mm, 0, 0);
  // setDate (not + 24 h) keeps HH:MM across a daylight-saving change.
  if (at.getTime() < from) at.setDate(at.getDate() + 1);
  return at.getTime();
}

export type BackupState = 'off' | 'ok' | 'running' | 'failing' | 'missing';

export interface BackupStatus {
  state: BackupState;
  message: string;
  last_good_at: number | null;
  next_run_at: number | null;
}

/**
 * The one-line health of backups, for the Overview, `parachute status` and
 * the webhook. `failing`: the last run failed. `missing`: no good backup in
 * 26 h since they were set up (a schedule that never ran, a hub that was
 * off). Both need the operator; `running` and `ok` do not.
 */
export function backupStatus(
  config: StoredBackupConfig | null,
  runs: { latest: BackupRun | null; lastGood: BackupRun | null; lastScheduled: BackupRun | null },
  now = Date.now(),
): BackupStatus {
  const { latest, lastGood } = runs;
  const last_good_at = lastGood?.finished_at ?? null;
  const paused = !config?.enabled;
  const next_run_at = config && !paused ? nextRunAt(config.schedule, runs.lastScheduled) : null;
  const base = { last_good_at, next_run_at };
  const limit = config && !paused ? missingAfterMs(config.schedule) : null;
  const since = config ? (last_good_at ?? config.saved_at) : 0;
  // A run stuck for a day (storage that stopped answering mid-upload) is no backup either.
  const overdue = limit !== null && now - since > limit;
  if (latest?.state === 'running' && !overdue) {
    return { state: 'running', message: `A backup is running (${latest.stage}).`, ...base };
  }
  // Paused or not, a last run that failed needs the operator.
  if (config && latest?.state === 'failed') {
    return {
      state: 'failing',
      message: `The last backup failed at ${latest.stage}: ${latest.error ?? 'no reason recorded'}`,
      ...base,
    };
  }
  if (!config || paused) {
    return {
      state: 'off',
      message: config ? 'Scheduled backups are paused.' : 'Scheduled backups are not set up.',
      ...base,
    };
  }
  if (overdue) {
    const running =
      latest?.state === 'running'
        ? ` A backup has been running for ${ago(now - latest.started_at)} (at ${latest.stage}); check the target.`
        : '';
    return {
      state: 'missing',
      message:
        (last_good_at
          ? `No good backup for ${ago(now - last_good_at)}.`
          : `No backup has succeeded since backups were set up, more than ${Math.round((limit ?? 0) / HOUR)} h ago.`) +
        running,
      ...base,
    };
  }
  return {
    state: 'ok',
    message: last_good_at
      ? `Last good backup ${ago(now - last_good_at)} ago; its restore drill passed.`
      : 'The first backup has not run yet.',
    ...base,
  };
}

/** A duration in words for a sentence: "4 min", "3 h", "2 days". */
function ago(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}
