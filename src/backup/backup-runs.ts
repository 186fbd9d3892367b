import type { Database } from 'bun:sqlite';

export type RunTrigger = 'schedule' | 'manual' | 'upgrade';
export type RunState = 'running' | 'ok' | 'failed';
/** Where a run is (or where it stopped): each stage is one step of scheduled-backup.ts. */
export type RunStage = 'snapshot' | 'encrypt' | 'upload' | 'download' | 'drill' | 'prune' | 'done';

export interface DrillResult {
  ok: boolean;
  ms: number;
  databases: number;
  tables: number;
  rows: number;
}

export interface BackupRun {
  id: number;
  trigger: RunTrigger;
  started_at: number;
  finished_at: number | null;
  state: RunState;
  stage: RunStage;
  target: string;
  object: string | null;
  bytes: number | null;
  stored_bytes: number | null;
  files: number | null;
  databases: number | null;
  drill: DrillResult | null;
  error: string | null;
  pruned_at: number | null;
}

type Row = Omit<BackupRun, 'drill'> & { drill: string | null };

const fromRow = (row: Row): BackupRun => ({
  ...row,
  drill: row.drill ? (JSON.parse(row.drill) as DrillResult) : null,
});

/** The backup_runs table: one row per run, written as the run goes. */
export const backupRuns = {
  start(db: Database, trigger: RunTrigger, target: string, now = Date.now()): BackupRun {
    const row = db
      .query(
        `INSERT INTO backup_runs (trigger, started_at, state, stage, target)
         VALUES (?, ?, 'running', 'snapshot', ?) RETURNING *`,
      )
      .get(trigger, now, target) as Row;
    return fromRow(row);
  },

  update(
    db: Database,
    id: number,
    fields: Partial<Omit<BackupRun, 'id' | 'trigger' | 'started_at'>>,
  ): void {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${k} = ?`).join(', ');
    const values = entries.map(([k, v]) =>
      k === 'drill' && v !== null ? JSON.stringify(v) : (v as string | number | null),
    );
    db.run(`UPDATE backup_runs SET ${sets} WHERE id = ?`, [...values, id]);
  },

  get(db: Database, id: number): BackupRun | null {
    const row = db.query('SELECT * FROM backup_runs WHERE id = ?').get(id) as Row | null;
    return row ? fromRow(row) : null;
  },

  recent(db: Database, limit = 20): BackupRun[] {
    return (db.query('SELECT * FROM backup_runs ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(
      fromRow,
    );
  },

  /** The newest run to `target` (where a run went, in words: BackupTarget.describe()). */
  latest(db: Database, target: string): BackupRun | null {
    return newest(db, 'target = ?', target);
  },

  lastGood(db: Database, target: string): BackupRun | null {
    return newest(db, "state = 'ok' AND target = ?", target);
  },

  /**
   * The last run the schedule started to `target`: when the next one is due
   * counts from it, so a new target gets its first run at once.
   */
  lastScheduled(db: Database, target: string): BackupRun | null {
    return newest(db, "trigger = 'schedule' AND target = ?", target);
  },

  /** Good runs whose archive is still in the target, newest first: what retention chooses from. */
  kept(db: Database, target: string): BackupRun[] {
    return (
      db
        .query(
          `SELECT * FROM backup_runs WHERE state = 'ok' AND target = ? AND object IS NOT NULL
           AND pruned_at IS NULL ORDER BY started_at DESC`,
        )
        .all(target) as Row[]
    ).map(fromRow);
  },

  /** Failed runs whose archive is still in the target (it would not delete it then). */
  unprovenObjects(db: Database, target: string): BackupRun[] {
    return (
      db
        .query(
          `SELECT * FROM backup_runs WHERE state = 'failed' AND target = ? AND object IS NOT NULL`,
        )
        .all(target) as Row[]
    ).map(fromRow);
  },

  /**
   * Runs a hub stopped in the middle of (killed, power lost) end as failed,
   * at boot: none is running any more, and none wrote a good archive.
   */
  interrupted(db: Database, now = Date.now()): number {
    return db.run(
      `UPDATE backup_runs SET state = 'failed', finished_at = ?,
         error = 'The hub stopped during this backup; nothing it wrote is used. The next one runs as scheduled.'
       WHERE state = 'running'`,
      [now],
    ).changes;
  },
};

function newest(db: Database, where: string, target: string): BackupRun | null {
  const row = db
    .query(`SELECT * FROM backup_runs WHERE ${where} ORDER BY id DESC LIMIT 1`)
    .get(target) as Row | null;
  return row ? fromRow(row) : null;
}
