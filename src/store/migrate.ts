import type { Database } from 'bun:sqlite';
import type { Migration } from './migrations.ts';
import { StoreError } from './store-error.ts';

/**
 * Brings the database up to the newest migration, each one in its own
 * transaction and recorded in schema_migrations, so a crash mid-upgrade
 * leaves the database at the previous version, never half-migrated.
 * Returns the versions it applied.
 */
export function migrate(db: Database, path: string, all: Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const row = db.query('SELECT MAX(version) AS v FROM schema_migrations').get() as {
    v: number | null;
  };
  const current = row.v ?? 0;
  const newest = all.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new StoreError(
      `${path} has schema version ${current}, but this parachute only knows up to ${newest}.`,
      'It was written by a newer parachute. Install that version again (or newer), or restore a backup made by this version.',
    );
  }
  const applied: number[] = [];
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  for (const m of all) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    })();
    applied.push(m.version);
  }
  return applied;
}
