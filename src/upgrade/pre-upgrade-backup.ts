import { Database } from 'bun:sqlite';
import { existsSync, lchownSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';

/**
 * The backup an upgrade takes before touching anything: a consistent copy of
 * hub.db made by SQLite itself (VACUUM INTO reads one snapshot while the hub
 * keeps writing), in <home>/backups. Module data is left where it is: an
 * upgrade of the hub binary does not touch it.
 *
 * Run as root (the system unit's upgrade), the home belongs to the hub's
 * unprivileged account: a symlink planted there must not make root read or
 * write elsewhere, so links are refused and ownership is handed over with
 * lchown, which never follows one.
 */
export function backupHubDb(home: string, from: string, to: string, now = new Date()): string {
  const db = hubPaths(home).db;
  const dir = join(home, 'backups');
  refuseLink(db);
  const created = !existsSync(dir);
  if (created) mkdirSync(dir, { mode: 0o700 });
  refuseLink(dir);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `pre-upgrade-${from}-to-${to}-${stamp}.db`);
  const source = new Database(db, { readonly: true });
  try {
    source.run('VACUUM INTO ?', [file]);
  } finally {
    source.close();
  }
  if (process.getuid?.() === 0) {
    const owner = statSync(db);
    lchownSync(file, owner.uid, owner.gid);
    if (created) lchownSync(dir, owner.uid, owner.gid);
  }
  return file;
}

function refuseLink(path: string): void {
  if (existsSync(path) && lstatSync(path).isSymbolicLink()) {
    throw new OperatorError(
      `${path} is a symbolic link; the upgrade backs up only the hub's own files.`,
      'Replace it with the real file or folder, then try again; nothing was changed.',
    );
  }
}
