/**
 * A scheduled backup whose folder's disk fills up, through the real hub
 * (issue 18 point 3, "disk full"): a real 3 MiB tmpfs (mounting needs root,
 * hence the platform suite). The run fails at upload saying the folder is
 * full, the archive kept before is untouched, nothing half-written is left
 * under a backup's name, and the hub keeps serving.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backUpNow } from '../helpers/backups.ts';
import { hubWithOperator, trackHubs } from '../helpers/modules.ts';

const hubs = trackHubs();
const work = mkdtempSync(join(tmpdir(), 'parachute-backup-full-'));
const disk = join(work, 'small-disk');
let mounted = false;

beforeAll(() => {
  mkdirSync(disk);
  const mount = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]);
  if (mount.exitCode !== 0) {
    throw new Error(`mounting a tmpfs needs root: ${mount.stderr.toString()}`);
  }
  mounted = true;
});

afterAll(() => {
  if (mounted) Bun.spawnSync(['umount', disk]);
  rmSync(work, { recursive: true, force: true });
});

test('a full backup disk fails the run clearly and keeps the last good archive', async () => {
  const { hub, url, call } = await hubWithOperator(hubs);
  const folder = join(disk, 'backups');
  const saved = await call('PUT', '/api/hub/backups/config', {
    enabled: false,
    target: { kind: 'local', path: folder },
    encryption: { kind: 'passphrase', passphrase: 'a long passphrase nobody guesses' },
  });
  expect(saved.status).toBe(200);
  const good = await backUpNow(call);
  expect(good.state).toBe('ok');
  // The hub grows past what the disk holds: 4 MiB that gzip cannot shrink.
  mkdirSync(join(hub.home, 'notes'), { recursive: true });
  writeFileSync(join(hub.home, 'notes', 'scan.bin'), randomBytes(4 * 1024 * 1024));
  const failed = await backUpNow(call);
  expect(failed.state).toBe('failed');
  expect(failed.stage).toBe('upload');
  expect(failed.error).toContain(`the backup folder ${folder} is full`);
  // The good archive is still there, alone.
  expect(readdirSync(folder)).toEqual([good.object as string]);
  const status = (await call('GET', '/api/hub/backups')).json.status as { state: string };
  expect(status.state).toBe('failing');
  expect((await fetch(`${url}/health`)).status).toBe(200);
}, 120_000);
