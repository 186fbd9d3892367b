import { Database } from 'bun:sqlite';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrate.ts';
import { migrations } from './migrations.ts';
import { StoreBusyError, StoreError } from './store-error.ts';

export { StoreBusyError, StoreError } from './store-error.ts';

/** How long a writer waits on another's lock before SQLITE_BUSY (export, CLI token rotate). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens hub.db (creating it on first boot), sets the pragmas the hub relies
 * on and applies pending migrations. Every failure becomes a StoreError
 * that names the file and says what to do; the file is never modified when
 * it cannot be read.
 */
export function openStore(path: string, options: { busyTimeoutMs?: number } = {}): Database {
  const isNew = !existsSync(path);
  if (isNew) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: Database | undefined;
  try {
    db = new Database(path, { create: true, strict: true });
    // hub.db holds password hashes and the signing keys: owner only. SQLite
    // gives the -wal and -shm files the same mode, so this comes first.
    if (isNew) chmodSync(path, 0o600);
    db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
    db.exec('PRAGMA journal_mode = WAL');
    // NORMAL is durable across a hub crash in WAL mode; only an OS crash can
    // lose the last transaction, never corrupt the file.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    const check = db.query('PRAGMA quick_check').get() as { quick_check: string };
    if (check.quick_check !== 'ok') {
      throw new StoreError(
        `${path} is damaged (SQLite quick_check: ${check.quick_check}).`,
        restoreHint,
      );
    }
    migrate(db, path, migrations);
    if (options.busyTimeoutMs !== undefined) db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (error) {
    db?.close();
    throw toStoreError(error, path);
  }
}

/**
 * openStore for boot: bun:sqlite is synchronous, so waiting out another
 * process's lock with busy_timeout would freeze the event loop and /health
 * with it. Instead try without waiting and retry between event-loop turns
 * until `lockWaitMs` has passed.
 */
export async function openStoreWhenUnlocked(path: string, lockWaitMs = 10_000): Promise<Database> {
  const deadline = performance.now() + lockWaitMs;
  for (;;) {
    try {
      return openStore(path, { busyTimeoutMs: 0 });
    } catch (error) {
      if (!(error instanceof StoreBusyError) || performance.now() > deadline) throw error;
      await Bun.sleep(50);
    }
  }
}

const restoreHint =
  'The hub did not change it. Restore it from a backup (`parachute import <file>`), or move it aside to start a fresh hub.';

function toStoreError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code ?? '';
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new StoreError(`${path} is not a readable SQLite database (${detail}).`, restoreHint);
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_READONLY':
    case 'SQLITE_AUTH':
      return new StoreError(
        `cannot open ${path} (${detail}).`,
        'Check that the folder exists and that the user running parachute can read and write it and hub.db (set PARACHUTE_HOME to use another folder).',
      );
    case 'SQLITE_FULL':
    case 'SQLITE_IOERR':
      return new StoreError(
        `cannot write ${path} (${detail}).`,
        'The disk may be full or failing. Free some space, then start the hub again; nothing was lost.',
      );
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreBusyError(
        `${path} is locked by another process (${detail}).`,
        'Another parachute may be running with the same PARACHUTE_HOME. Stop it first.',
      );
    default:
      return new StoreError(`cannot open ${path}: ${detail}`, restoreHint);
  }
}
