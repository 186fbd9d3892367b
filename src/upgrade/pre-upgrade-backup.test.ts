import { Database } from 'bun:sqlite';
import { afterEach, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupHubDb } from './pre-upgrade-backup.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parachute-backup-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'hub.db'));
  db.run('PRAGMA journal_mode = WAL');
  db.run('CREATE TABLE users (id TEXT)');
  db.run("INSERT INTO users VALUES ('a'), ('b')");
  return dir;
}

test('the backup is a sound copy of hub.db taken while it is open for writing', () => {
  const h = home();
  const writer = new Database(join(h, 'hub.db'));
  writer.run("INSERT INTO users VALUES ('c')");
  const file = backupHubDb(h, '1.0.0', '1.1.0');
  writer.close();
  expect(file).toContain('/backups/pre-upgrade-1.0.0-to-1.1.0-');
  const copy = new Database(file, { readonly: true });
  expect(copy.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
  expect(copy.query('SELECT count(*) AS n FROM users').get()).toEqual({ n: 3 });
  copy.close();
});

test('a backups folder that is a symlink (planted by the hub account) is refused', () => {
  const h = home();
  const elsewhere = mkdtempSync(join(tmpdir(), 'parachute-elsewhere-'));
  dirs.push(elsewhere);
  symlinkSync(elsewhere, join(h, 'backups'));
  expect(() => backupHubDb(h, '1.0.0', '1.1.0')).toThrow('is a symbolic link');
  expect(readdirSync(elsewhere)).toEqual([]);
});

test('a hub.db that is a symlink to another database is refused', () => {
  const h = home();
  const other = join(h, 'other');
  mkdirSync(other);
  rmSync(join(h, 'hub.db'), { force: true });
  new Database(join(other, 'secret.db')).close();
  symlinkSync(join(other, 'secret.db'), join(h, 'hub.db'));
  expect(() => backupHubDb(h, '1.0.0', '1.1.0')).toThrow('is a symbolic link');
});
