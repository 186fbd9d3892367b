import { Database } from 'bun:sqlite';
import { afterAll, expect, test } from 'bun:test';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExport } from './export.ts';
import { checkExport, importExport } from './import.ts';

const work = mkdtempSync(join(tmpdir(), 'parachute-export-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('what an export carries, and how import puts it back in another home', async () => {
  const home = join(work, 'old');
  mkdirSync(join(home, 'fx', 'data'), { recursive: true });
  mkdirSync(join(home, 'modules', 'node_modules', '.bin'), { recursive: true });
  for (const dir of ['run', 'logs', 'tmp', 'cache', 'bin']) mkdirSync(join(home, dir));
  writeFileSync(join(home, 'run', 'hub.json'), '{}');
  writeFileSync(join(home, 'logs', 'hub.log'), 'old lines');
  // A database named like anything is still found by its header, and read
  // through SQLite: its open -wal holds rows not yet in the main file.
  const db = new Database(join(home, 'fx', 'data', 'notes.data'));
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (a)');
  for (let i = 0; i < 500; i++) db.run('INSERT INTO t VALUES (?)', [i]);
  expect(existsSync(join(home, 'fx', 'data', 'notes.data-wal'))).toBe(true);
  writeFileSync(join(home, 'fx', '.env'), 'TOKEN=x\n', { mode: 0o600 });
  writeFileSync(
    join(home, 'services.json'),
    JSON.stringify([{ name: 'fx', installDir: join(home, 'modules/node_modules/fx') }]),
  );
  writeFileSync(join(home, 'modules', 'node_modules', 'run.js'), 'hi');
  symlinkSync('../run.js', join(home, 'modules', 'node_modules', '.bin', 'run'));

  const archive = join(work, 'out', 'hub.tar.gz');
  const result = await writeExport(home, archive);
  db.close();
  expect(result.databases).toBe(1);
  const manifest = await checkExport(archive);
  const paths = manifest.files.map((f) => f.path);
  expect(paths).toEqual([
    'fx/.env',
    'fx/data/notes.data',
    'modules/node_modules/run.js',
    'services.json',
  ]);
  expect(manifest.files.find((f) => f.path === 'fx/data/notes.data')?.kind).toBe('sqlite');
  expect(manifest.symlinks).toEqual([
    { path: 'modules/node_modules/.bin/run', target: '../run.js' },
  ]);
  expect(manifest.home).toBe(home);
  // Nothing left beside the archive, and the staging folder is gone.
  expect(existsSync(join(work, 'out'))).toBe(true);
  expect(readdirSync(join(work, 'out'))).toEqual(['hub.tar.gz']);
  expect(readdirSync(join(home, 'tmp'))).toEqual([]);

  const next = join(work, 'new');
  await importExport(archive, next);
  const copy = new Database(join(next, 'fx', 'data', 'notes.data'), { readonly: true });
  expect(copy.query('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 500 });
  copy.close();
  expect(statSync(join(next, 'fx', '.env')).mode & 0o777).toBe(0o600);
  expect(readlinkSync(join(next, 'modules', 'node_modules', '.bin', 'run'))).toBe('../run.js');
  // Paths under the old home now name the new one.
  expect(await Bun.file(join(next, 'services.json')).json()).toEqual([
    { name: 'fx', installDir: join(next, 'modules/node_modules/fx') },
  ]);
  expect(existsSync(join(next, 'run'))).toBe(false);
});
