import type { Database } from 'bun:sqlite';
import { log } from '../platform/log.ts';
import { operatorMessage } from '../platform/operator-error.ts';
import { getSetting, setSetting } from '../store/settings.ts';
import { readBackupConfig, type StoredBackupConfig, targetOf } from './backup-config.ts';
import { type BackupRun, backupRuns, type RunTrigger } from './backup-runs.ts';
import { type BackupStatus, backupStatus, nextRunAt } from './backup-schedule.ts';
import { type BackupEvent, sendBackupWebhook } from './backup-webhook.ts';
import type { BackupTarget } from './targets/target.ts';

/** The scheduler looks again at least this often: clock changes, the 26 h "missing" line. */
const MAX_SLEEP_MS = 15 * 60_000;

export interface SchedulerDeps {
  db: Database;
  home: string;
  /** The hub's origin, for the webhook's text. */
  origin: () => string;
}

/**
 * Runs backups on their schedule, one at a time, in the hub's process
 * (deploy.md, "Scheduled backups"), and tells the webhook when backups
 * start failing, go missing, or recover. The settings are read from
 * backup.json at each decision, so a change takes effect at once.
 */
export class BackupScheduler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: Promise<BackupRun> | null = null;
  private stopped = false;
  constructor(private readonly deps: SchedulerDeps) {}

  /** At boot: runs a killed hub left "running" are failed, then the clock starts. */
  start(): void {
    const interrupted = backupRuns.interrupted(this.deps.db);
    if (interrupted > 0) log.warn(`${interrupted} backup run(s) were cut short by the last stop`);
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  config(): StoredBackupConfig | null {
    return readBackupConfig(this.deps.home);
  }

  status(now = Date.now()): BackupStatus {
    const { db } = this.deps;
    let config: StoredBackupConfig | null;
    try {
      config = this.config();
    } catch (error) {
      // A damaged backup.json is never replaced silently (it may hold the only passphrase).
      return {
        state: 'failing',
        message: `${operatorMessage(error)} Fix or remove the file, or save the settings again on the Backup page.`,
        last_good_at: null,
        next_run_at: null,
      };
    }
    // Runs to the target in force: a new target starts afresh (its first run at once).
    const where = config ? targetOf(config).describe() : '';
    return backupStatus(
      config,
      {
        latest: backupRuns.latest(db, where),
        lastGood: backupRuns.lastGood(db, where),
        lastScheduled: backupRuns.lastScheduled(db, where),
      },
      now,
    );
  }

  get running(): boolean {
    return this.current !== null;
  }

  /**
   * Starts a run now (the Backup page's button, an upgrade); the promise
   * is its end. Null when one is already running or backups are not set up.
   */
  runNow(trigger: RunTrigger): { run: BackupRun; done: Promise<BackupRun> } | null {
    const config = this.readable();
    if (!config || this.current || this.stopped) return null;
    const target = targetOf(config);
    const run = backupRuns.start(this.deps.db, trigger, target.describe());
    log.info(`backup ${run.id} (${trigger}) started to ${target.describe()}`);
    const done = this.execute(config, target, run);
    this.current = done;
    return { run, done };
  }

  /** Settings changed (saved or removed): look at the schedule again now. */
  wake(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const config = this.readable();
    let sleep = MAX_SLEEP_MS;
    if (config?.enabled && !this.current) {
      const due = nextRunAt(
        config.schedule,
        backupRuns.lastScheduled(this.deps.db, targetOf(config).describe()),
      );
      if (due <= Date.now()) {
        this.runNow('schedule');
        return;
      }
      sleep = Math.min(sleep, due - Date.now());
    }
    void this.alert();
    this.timer = setTimeout(() => this.wake(), sleep);
  }

  private async execute(
    config: StoredBackupConfig,
    target: BackupTarget,
    run: BackupRun,
  ): Promise<BackupRun> {
    let finished: BackupRun = run;
    try {
      // Loaded on the first run: a hub that never backs up never holds the archive code.
      const { runBackup } = await import('./scheduled-backup.ts');
      finished = await runBackup({ db: this.deps.db, home: this.deps.home, config, target }, run);
      if (finished.state === 'ok') {
        log.info(`backup ${run.id} ok: ${finished.object} (${finished.stored_bytes} bytes)`);
      } else log.warn(`backup ${run.id} failed at ${finished.stage}: ${finished.error}`);
    } catch (error) {
      // Recording itself failed (the hub is stopping and its store is closed).
      if (!this.stopped)
        log.error(`backup ${run.id} could not be recorded: ${operatorMessage(error)}`);
    } finally {
      this.current = null;
    }
    if (!this.stopped) this.wake();
    return finished;
  }

  /** The settings, or null when there are none or they cannot be read (status() says why). */
  private readable(): StoredBackupConfig | null {
    try {
      return this.config();
    } catch {
      return null;
    }
  }

  /**
   * Tells the webhook about a change into failing or missing, and back to
   * ok: once per change, remembered in the store, so a restart does not
   * send it again.
   */
  private async alert(): Promise<void> {
    const { db } = this.deps;
    const config = this.readable();
    const status = this.status();
    const { state } = status;
    const alerted = getSetting(db, 'backup_alerted');
    if (state === 'running' || state === alerted) return;
    let event: BackupEvent | null = null;
    if (state === 'failing') event = 'backup.failed';
    else if (state === 'missing') event = 'backup.missing';
    else if (state === 'ok' && (alerted === 'failing' || alerted === 'missing')) {
      event = 'backup.recovered';
    }
    setSetting(db, 'backup_alerted', state);
    if (event && config?.webhook_url) {
      await sendBackupWebhook(config.webhook_url, event, status, this.deps.origin());
    }
  }
}
