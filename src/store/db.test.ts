import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, StoreError } from './db.ts';
import { migrate } from './migrate.ts';
import { migrations } from './migrations.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'parachute-store-')), 'hub.db');

describe('openStore', () => {
  test('creates hub.db owner-only, in WAL mode, with foreign keys and a busy timeout', () => {
    const path = freshPath();
    const db = openStore(path);
    expect((db.query('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe(
      'wal',
    );
    expect((db.query('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys).toBe(
      1,
    );
    expect((db.query('PRAGMA busy_timeout').get() as { timeout: number }).timeout).toBe(5000);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    db.close();
  });

  test('records every migration once and is idempotent across reopens', () => {
    const path = freshPath();
    openStore(path).close();
    const db = openStore(path);
    const rows = db.query('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version })));
    db.close();
  });

  test('a file that is not a database is a clear error and is left untouched', () => {
    const path = freshPath();
    const garbage = 'definitely not sqlite '.repeat(20);
    writeFileSync(path, garbage);
    expect(() => openStore(path)).toThrow(StoreError);
    try {
      openStore(path);
    } catch (error) {
      expect((error as StoreError).message).toContain('is not a readable SQLite database');
      expect((error as StoreError).hint).toContain('parachute import');
    }
    expect(readFileSync(path, 'utf8')).toBe(garbage);
  });

  test('a database from a newer hub is refused rather than downgraded', () => {
    const path = freshPath();
    const db = openStore(path);
    db.run('INSERT INTO schema_migrations VALUES (999, ?, ?)', ['future', Date.now()]);
    expect(() => migrate(db, path, migrations)).toThrow(/schema version 999/);
    db.close();
  });

  test('a failing migration rolls back and leaves the previous version recorded', () => {
    const path = freshPath();
    const db = openStore(path);
    const broken = [...migrations, { version: 1000, name: 'broken', sql: 'CREATE TABLE x (' }];
    expect(() => migrate(db, path, broken)).toThrow();
    const max = db.query('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
    expect(max.v).toBe(migrations.at(-1)?.version ?? 0);
    db.close();
  });
});
