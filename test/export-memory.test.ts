// An export streams (issue: a hub on a 512 MB machine must be able to export
// more data than it has memory): the compiled hub exports a module database of
// about 130 MB and its peak resident memory grows by far less than that.
// Its own file, as it seeds and moves a few hundred MB.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBinary } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
let work = '';
afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Peak resident set size of a process so far, in bytes (Linux). */
const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

test('exporting 130 MB of module data grows the hub by far less than that', async () => {
  work = await mkdtemp(join(tmpdir(), 'parachute-export-memory-'));
  const { hub, url, bin, call } = await hubWithOperator(hubs);
  expect((await install(call, { package: await packFixture('ledger') })).state).toBe('succeeded');
  await running(call, 'fx-ledger');
  const seeded = await fetch(`${url}/fx-ledger/seed?mb=100`, { method: 'POST' });
  expect(seeded.status).toBe(200);
  const data = statSync(join(hub.home, 'fx-ledger', 'ledger.db')).size;
  expect(data).toBeGreaterThan(120 * 1024 * 1024);

  // Peak reset to the current size (Linux clear_refs), so the growth measured is the export's.
  writeFileSync(`/proc/${hub.proc.pid}/clear_refs`, '5');
  const before = peakRss(hub.proc.pid);
  const out = join(work, 'hub.tar.gz');
  const exported = await runBinary(bin, ['export', '-o', out], {
    env: { PARACHUTE_HOME: hub.home },
  });
  expect(exported.stderr).toBe('');
  expect(exported.code).toBe(0);
  const growth = peakRss(hub.proc.pid) - before;
  console.log(
    `export of ${(data / 2 ** 20).toFixed(0)} MB: hub peak RSS grew ${(growth / 2 ** 20).toFixed(1)} MB (from ${(before / 2 ** 20).toFixed(0)} MB)`,
  );
  // Built in memory (Bun.Archive), this export grew the hub by ~600 MB; streamed,
  // growth is a fixed cost (a worker, zlib and stream buffers: ~40 MB), not the data's.
  expect(growth).toBeLessThan(80 * 1024 * 1024);
  // And what was exported is whole: it imports.
  const imported = await runBinary(bin, ['import', out], {
    env: { PARACHUTE_HOME: join(work, 'imported') },
  });
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
}, 180_000);
