/**
 * Time from exec to the first 200 from /health, and idle RSS, for the
 * compiled hub against a minimal compiled Bun.serve server (the floor),
 * both built with the same flags, in one run.
 *
 *   npm run bench:boot            (builds first)
 *   bun run bench/boot.ts [runs]  (uses dist/parachute as it is)
 *
 * Most of an idle Bun process's RSS is the executable's own code, mapped
 * from the page cache, and on Linux 6.18 how much of it a page fault maps
 * depends on how the file got into the page cache: a file just written in
 * large chunks (a build, cp) sits in large folios that are mapped whole,
 * a file paged in from disk (every start after a reboot: how systemd runs
 * the hub for months) in 4 KiB pages. The same binary measures up to
 * 12 MB apart. So every binary is measured both ways:
 *   - from disk: evicted from the page cache before each start
 *     (posix_fadvise DONTNEED through `dd iflag=nocache`, no root needed);
 *   - just written: a fresh copy, never evicted (the first start after an
 *     install or upgrade).
 * Anonymous memory (heap, stacks) does not depend on it and is shown too.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './lib.ts';

const RUNS = Number(process.argv[2] ?? 15);
const IDLE_SETTLE_MS = 1000;
const root = resolve(import.meta.dir, '..');
const work = mkdtempSync(join(tmpdir(), 'parachute-bench-boot-'));

const built = await Bun.build({
  entrypoints: [join(import.meta.dir, 'fixtures/hello-server.ts')],
  compile: {
    outfile: join(work, 'build/hello-server'),
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  minify: true,
  bytecode: true,
});
if (!built.success) throw new Error('could not compile the floor server');

type PageCache = 'from disk' | 'just written';

interface Sample {
  bootMs: number;
  rssMb: number;
  /** RssAnon: heap and other private memory; the rest of RSS is the binary's shared code pages. */
  anonMb: number;
}

interface Case {
  name: string;
  binary: 'floor' | 'hub';
  home?: () => string;
  stopWith?: NodeJS.Signals;
  /** Requests made after boot, before the idle wait. */
  after?: (url: string) => Promise<void>;
}

const warmHome = join(work, 'warm-home');
const crashHome = join(work, 'crash-home');
const cases: Case[] = [
  { name: 'floor: compiled Bun.serve', binary: 'floor' },
  {
    // Migrations and the bootstrap token; the RSA signing key waits for first need.
    name: 'hub, first boot (new home)',
    binary: 'hub',
    home: () => mkdtempSync(join(work, 'home-')),
  },
  { name: 'hub, warm boot (clean stop before)', binary: 'hub', home: () => warmHome },
  // The WAL left by a SIGKILL is recovered on the next boot.
  { name: 'hub, boot after SIGKILL', binary: 'hub', home: () => crashHome, stopWith: 'SIGKILL' },
  {
    // The admin app (Elysia, every route) is built on the first request for it.
    name: 'hub, warm boot, then admin UI and API used',
    binary: 'hub',
    home: () => warmHome,
    after: async (url) => {
      for (const path of [
        '/admin/',
        '/api/auth/session',
        '/.well-known/oauth-authorization-server',
      ]) {
        await (await fetch(url + path)).arrayBuffer();
      }
    },
  },
];

/** Fresh copies, so "just written" means the same for both binaries whatever ran before. */
function copies(tag: string): Record<Case['binary'], string> {
  const dir = join(work, tag);
  mkdirSync(dir);
  const floor = join(dir, 'hello-server');
  const hub = join(dir, 'parachute');
  copyFileSync(join(work, 'build/hello-server'), floor);
  copyFileSync(join(root, 'dist/parachute'), hub);
  return { floor, hub };
}

function evict(path: string): void {
  const dd = Bun.spawnSync(['dd', `if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
  if (!dd.success) throw new Error(`could not evict ${path} from the page cache: ${dd.stderr}`);
}

async function firstHealthy(url: string, deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(0.5);
  }
  throw new Error(`${url} never answered 200`);
}

function memory(pid: number): { rssMb: number; anonMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024 };
}

async function sample(c: Case, binary: string, pageCache: PageCache): Promise<Sample> {
  if (pageCache === 'from disk') evict(binary);
  const port = freePort();
  const env: Record<string, string> = { PORT: String(port) };
  if (c.home) env.PARACHUTE_HOME = c.home();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = Bun.spawn(c.binary === 'hub' ? [binary, 'serve'] : [binary], {
    env: { ...process.env, ...env },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  try {
    await firstHealthy(`${url}/health`, t0 + 10_000);
    const bootMs = performance.now() - t0;
    await c.after?.(url);
    await Bun.sleep(IDLE_SETTLE_MS);
    return { bootMs, ...memory(proc.pid) };
  } finally {
    proc.kill(c.stopWith ?? 'SIGTERM');
    await proc.exited;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] as number;

async function measure(pageCache: PageCache): Promise<Map<string, Sample[]>> {
  const bins = copies(pageCache === 'from disk' ? 'disk' : 'written');
  const results = new Map<string, Sample[]>();
  for (const c of cases) {
    // One unmeasured start first: the warm and crash homes need a first boot.
    await sample(c, bins[c.binary], 'just written');
    if (pageCache === 'from disk') evict(bins[c.binary]);
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await sample(c, bins[c.binary], pageCache));
    results.set(c.name, samples);
  }
  return results;
}

console.log(
  `boot: exec -> first /health 200; idle RSS ${IDLE_SETTLE_MS} ms after it; ${RUNS} runs per case and page-cache state`,
);
console.log(
  `machine: ${navigator.hardwareConcurrency} cores, Linux ${release()}, bun ${Bun.version}\n`,
);
// "just written" first: once evicted and paged in again, a file stays in small pages.
const written = await measure('just written');
const disk = await measure('from disk');
rmSync(work, { recursive: true, force: true });

const mb = (xs: number[]) => `${median(xs).toFixed(1)} MB`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const rows: string[][] = [
  [
    'case',
    'boot median',
    'boot p90',
    'boot from disk',
    'idle RSS from disk',
    'of which anon',
    'idle RSS just written',
  ],
];
for (const c of cases) {
  const w = written.get(c.name) ?? [];
  const d = disk.get(c.name) ?? [];
  const boots = w.map((s) => s.bootMs);
  rows.push([
    c.name,
    ms(median(boots)),
    ms(p90(boots)),
    ms(median(d.map((s) => s.bootMs))),
    mb(d.map((s) => s.rssMb)),
    mb(d.map((s) => s.anonMb)),
    mb(w.map((s) => s.rssMb)),
  ]);
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));

const idleHub = cases.slice(1, 4).map((c) => c.name);
const worst = (results: Map<string, Sample[]>, of: (s: Sample) => number) =>
  Math.max(...idleHub.map((n) => median((results.get(n) ?? []).map(of))));
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const worstBoot = worst(written, (s) => s.bootMs);
const rssFromDisk = worst(disk, (s) => s.rssMb);
const rssWritten = worst(written, (s) => s.rssMb);
console.log('\ntargets for the hub (the worst median of its three boot cases):');
console.log(
  `  boot <= 60 ms (binary in page cache): ${ms(worstBoot)}  ${verdict(worstBoot <= 60)}`,
);
console.log(
  `  idle RSS <= 45 MB, started from disk (as after a reboot): ${rssFromDisk.toFixed(1)} MB  ${verdict(rssFromDisk <= 45)}`,
);
console.log(
  `  idle RSS <= 45 MB, binary just written (first start after an install): ${rssWritten.toFixed(1)} MB  ${verdict(rssWritten <= 45)}`,
);
