import { expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRuntime } from '../platform/runtime-file.ts';
import { HomeInUseError, lockHome } from './home-lock.ts';

test('one holder at a time; release hands the home to the next', async () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-lock-'));
  const first = await lockHome(home);
  // What the holder writes right after taking the lock; the refusal reads it.
  // The parent's pid: a live process that is not this one (which would be "us").
  writeRuntime(home, { pid: process.ppid, port: 4242, hostname: '127.0.0.1', started_at: '' });
  const refused = await lockHome(home).catch((error) => error);
  expect(refused).toBeInstanceOf(HomeInUseError);
  expect(refused.message).toBe(
    `another hub is already running on PARACHUTE_HOME=${home} (pid ${process.ppid}, port 4242).`,
  );
  first.release();
  first.release();
  const second = await lockHome(home);
  second.release();
});

test('the lock survives garbage collection (closing the connection would drop it)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-lock-'));
  const lock = await lockHome(home);
  Bun.gc(true);
  await Bun.sleep(10);
  Bun.gc(true);
  writeRuntime(home, { pid: process.ppid, port: 1, hostname: '127.0.0.1', started_at: '' });
  await expect(lockHome(home)).rejects.toBeInstanceOf(HomeInUseError);
  lock.release();
});
