import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEP_SAMPLES, ResourceSampler } from './resources.ts';

/** A /proc/<pid>/stat line: comm may hold spaces and parentheses. */
function stat(dir: string, pid: number, pgid: number, utime: number, stime: number, rss: number) {
  mkdirSync(join(dir, String(pid)), { recursive: true });
  const after = [
    'S',
    '1',
    String(pgid),
    ...Array(8).fill('0'),
    String(utime),
    String(stime),
    ...Array(8).fill('0'),
    String(rss),
  ];
  writeFileSync(join(dir, String(pid), 'stat'), `${pid} (odd (name) x) ${after.join(' ')}\n`);
}

test('sums CPU and memory over the processes of the group only, and keeps a bounded ring', () => {
  const proc = mkdtempSync(join(tmpdir(), 'proc-'));
  stat(proc, 100, 100, 10, 5, 1000);
  stat(proc, 101, 100, 20, 5, 500); // a child in the same group
  stat(proc, 200, 200, 999, 999, 99999); // someone else's
  let samples = 0;
  let now = 0;
  const sampler = new ResourceSampler(
    () => [{ name: 'm', pgid: 100 }],
    () => samples++,
    proc,
    () => now,
  );
  sampler.sample();
  const first = sampler.of('m');
  expect(first?.rssBytes).toBe(1500 * 4096);
  expect(first?.cpuPercent).toBeNull();
  // 50 more ticks (0.5 s of CPU) in 10 s: 5 %.
  stat(proc, 100, 100, 10 + 50, 5, 1000);
  now = 10_000;
  sampler.sample();
  expect(sampler.of('m')?.cpuPercent).toBeCloseTo(5);
  for (let i = 0; i < KEEP_SAMPLES + 5; i++) {
    now += 10_000;
    sampler.sample();
  }
  const later = sampler.of('m');
  expect(later?.history.length).toBe(KEEP_SAMPLES);
  expect(later?.cpuPercent).toBe(0);
  expect(samples).toBe(KEEP_SAMPLES + 7);
});

test('without /proc (macOS) nothing is recorded', () => {
  const sampler = new ResourceSampler(
    () => [{ name: 'm', pgid: 1 }],
    () => {},
    '/nonexistent-proc',
  );
  sampler.sample();
  expect(sampler.of('m')).toBeNull();
});
