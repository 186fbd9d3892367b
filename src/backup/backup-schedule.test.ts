import { describe, expect, test } from 'bun:test';
import type { StoredBackupConfig } from './backup-config.ts';
import type { BackupRun } from './backup-runs.ts';
import { backupStatus, MISSING_AFTER_MS, nextRunAt } from './backup-schedule.ts';

const HOUR = 3_600_000;
/** A local time (the hub's zone) as ms. */
const at = (y: number, mo: number, d: number, h: number, mi = 0) =>
  new Date(y, mo - 1, d, h, mi).getTime();

const daily = { every: 'daily', at: '03:00' } as const;
const last = (started_at: number, state: BackupRun['state'] = 'ok') =>
  ({ started_at, state }) as const;

describe('nextRunAt', () => {
  test('a schedule that never ran is due now', () => {
    const before = Date.now();
    expect(nextRunAt(daily, null)).toBeGreaterThanOrEqual(before);
    expect(nextRunAt(daily, null)).toBeLessThanOrEqual(Date.now());
  });

  test('daily runs fall on HH:MM, whenever the last one began', () => {
    expect(nextRunAt(daily, last(at(2026, 12, 2, 3, 0)))).toBe(at(2026, 12, 3, 3, 0));
    // The first run happened at once, at 10:40: the next is the coming 03:00, not 10:40 tomorrow.
    expect(nextRunAt(daily, last(at(2026, 12, 2, 10, 40)))).toBe(at(2026, 12, 3, 3, 0));
    // A run that began a few seconds late still took its slot.
    expect(nextRunAt(daily, last(at(2026, 12, 2, 3, 0) + 2_000))).toBe(at(2026, 12, 3, 3, 0));
  });

  test('hourly runs fall on the minute of `at`; weekly ones a week on at HH:MM', () => {
    const hourly = { every: 'hourly', at: '00:15' } as const;
    expect(nextRunAt(hourly, last(at(2026, 12, 2, 9, 15)))).toBe(at(2026, 12, 2, 10, 15));
    const weekly = { every: 'weekly', at: '04:30' } as const;
    expect(nextRunAt(weekly, last(at(2026, 12, 2, 4, 30)))).toBe(at(2026, 12, 9, 4, 30));
  });

  test('a failed run is tried again within the hour, not a day later', () => {
    const failed = last(at(2026, 12, 2, 3, 0), 'failed');
    expect(nextRunAt(daily, failed)).toBe(at(2026, 12, 2, 4, 0));
  });

  test('a slot missed while the hub was off is due at once', () => {
    expect(nextRunAt(daily, last(Date.now() - 3 * 24 * HOUR))).toBeLessThan(Date.now());
  });
});

describe('backupStatus', () => {
  const now = at(2026, 12, 2, 12, 0);
  const config = { enabled: true, schedule: daily, saved_at: now - 2 * HOUR } as StoredBackupConfig;
  const run = (fields: Partial<BackupRun>) =>
    ({
      id: 1,
      trigger: 'schedule',
      state: 'ok',
      stage: 'done',
      error: null,
      ...fields,
    }) as BackupRun;
  const runs = (latest: BackupRun | null, lastGood: BackupRun | null = null) => ({
    latest,
    lastGood,
    lastScheduled: latest,
  });

  test('off until set up, and while paused', () => {
    expect(backupStatus(null, runs(null), now).state).toBe('off');
    expect(backupStatus({ ...config, enabled: false }, runs(null), now).state).toBe('off');
  });

  test('a failed last run is failing, with its stage and reason', () => {
    const failed = run({ state: 'failed', stage: 'upload', error: 'S3 refused the credentials' });
    const status = backupStatus(config, runs(failed), now);
    expect(status.state).toBe('failing');
    expect(status.message).toContain('upload');
    expect(status.message).toContain('S3 refused the credentials');
  });

  test('missing: no good backup in 26 h, counted from setup when none ever succeeded', () => {
    const good = run({ started_at: now - 27 * HOUR, finished_at: now - 27 * HOUR });
    expect(backupStatus(config, runs(good, good), now).state).toBe('missing');
    const recent = run({ started_at: now - 2 * HOUR, finished_at: now - 2 * HOUR });
    expect(backupStatus(config, runs(recent, recent), now).state).toBe('ok');
    const oldSetup = { ...config, saved_at: now - MISSING_AFTER_MS - 1 };
    expect(backupStatus(oldSetup, runs(null), now).state).toBe('missing');
    expect(backupStatus(config, runs(null), now).state).toBe('ok');
    // A weekly schedule is not missing anything after 27 h.
    const weekly = { ...config, schedule: { every: 'weekly', at: '03:00' } } as StoredBackupConfig;
    expect(backupStatus(weekly, runs(good, good), now).state).toBe('ok');
    const lastWeek = run({ started_at: now - 8 * 24 * HOUR, finished_at: now - 8 * 24 * HOUR });
    expect(backupStatus(weekly, runs(lastWeek, lastWeek), now).state).toBe('missing');
    // A run stuck since yesterday (storage that stopped answering) does not hide it.
    const stuck = run({ state: 'running', stage: 'upload', started_at: now - 25 * HOUR });
    const stale = backupStatus(config, { ...runs(stuck, good), lastScheduled: stuck }, now);
    expect(stale.state).toBe('missing');
    expect(stale.message).toContain('running for 25 h');
  });
});
