import { Database } from 'bun:sqlite';
import { chownSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hubPaths } from '../platform/paths.ts';

/**
 * The backup an upgrade takes before touching anything: a consistent copy of
 * hub.db made by SQLite itself (VACUUM INTO reads one snapshot while the hub
 * keeps writing), in <home>/backups. Module data is left where it is: an
 * upgrade of the hub binary does not touch it.
 */
export function backupHubDb(home: string, from: string, to: string, now = new Date()): string {
  const dir = join(home, 'backups');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `pre-upgrade-${from}-to-${to}-${stamp}.db`);
  const db = new Database(hubPaths(home).db, { readonly: true });
  try {
    db.run('VACUUM INTO ?', [file]);
  } finally {
    db.close();
  }
  // Run as root (sudo parachute upgrade --hub for the system unit): the hub's account owns its backups.
  if (process.getuid?.() === 0) {
    const owner = statSync(hubPaths(home).db);
    chownSync(dir, owner.uid, owner.gid);
    chownSync(file, owner.uid, owner.gid);
  }
  return file;
}
