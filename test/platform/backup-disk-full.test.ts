/**
 * A backup folder on a disk that fills up (issue 18 point 3, "disk full"):
 * a real 2 MiB tmpfs (needs root, hence the platform suite). The copy fails
 * with a message that says the folder is full and how much is free, and no
 * half-written copy is left that could pass for a backup.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptFile, encryptFile } from '../../src/backup/age-file.ts';
import { LocalTarget } from '../../src/backup/targets/local-target.ts';
import { backupName } from '../../src/backup/targets/target.ts';
import { randomFile, refusal } from '../helpers/backup-files.ts';

const work = mkdtempSync(join(tmpdir(), 'parachute-full-'));
const disk = join(work, 'small-disk');
let mounted = false;

beforeAll(() => {
  mkdirSync(disk);
  const mount = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  if (mount.exitCode !== 0)
    throw new Error(`mounting a tmpfs needs root: ${mount.stderr.toString()}`);
  mounted = true;
});

afterAll(() => {
  if (mounted) Bun.spawnSync(['umount', disk]);
  rmSync(work, { recursive: true, force: true });
});

test('a full backup folder: a clear message with the free space, and no partial copy', async () => {
  const folder = join(disk, 'backups');
  const target = new LocalTarget(folder);
  await target.probe();
  // A first backup fits; the second does not.
  const first = backupName(new Date('2026-12-01T03:00:00.000Z'));
  await target.put(first, randomFile(work, 'first.age', 1200));
  const second = backupName(new Date('2026-12-02T03:00:00.000Z'));
  const error = await refusal(target.put(second, randomFile(work, 'second.age', 1200)));
  expect(error.message).toMatch(
    new RegExp(
      `^the backup folder ${folder} is full \\(\\d+(\\.\\d)? KiB free; this backup needs 1\\.2 MiB\\)$`,
    ),
  );
  expect(error.hint).toContain('Free space there');
  expect(readdirSync(folder)).toEqual([first]);
  expect((await target.list()).map((o) => o.name)).toEqual([first]);
  // Space freed, the next run works.
  await target.remove(first);
  await target.put(second, join(work, 'second.age'));
  expect((await target.list()).map((o) => o.name)).toEqual([second]);
  await target.remove(second);
});

test('decrypting onto a full disk says so and leaves nothing behind', async () => {
  const plain = randomFile(work, 'plain.tar.gz', 3000);
  const sealed = join(work, 'plain.tar.gz.age');
  const passphrase = 'a long enough passphrase';
  await encryptFile(plain, sealed, { kind: 'passphrase', passphrase });
  const dest = join(disk, 'restored.tar.gz');
  const error = await refusal(decryptFile(sealed, dest, { passphrase }));
  expect(error.message).toBe(`no room left to write ${dest}`);
  expect(existsSync(dest)).toBe(false);
}, 30_000);
