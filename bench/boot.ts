/**
 * Time from exec to the first 200 from /health, and idle RSS, for the
 * compiled hub against a minimal compiled Bun.serve server (the floor),
 * both built with the same flags, in one run.
 *
 *   npm run bench:boot            (builds first)
 *   bun run bench/boot.ts [runs]  (uses dist/parachute as it is)
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './lib.ts';

const RUNS = Number(process.argv[2] ?? 20);
const IDLE_SETTLE_MS = 1000;
const root = resolve(import.meta.dir, '..');
const work = mkdtempSync(join(tmpdir(), 'parachute-bench-boot-'));

const floorBin = join(work, 'hello-server');
const built = await Bun.build({
  entrypoints: [join(import.meta.dir, 'fixtures/hello-server.ts')],
  compile: { outfile: floorBin, autoloadDotenv: false, autoloadBunfig: false },
  minify: true,
  bytecode: true,
});
if (!built.success) throw new Error('could not compile the floor server');

interface Sample {
  bootMs: number;
  rssMb: number;
  /** RssAnon: heap and other private memory; the rest of RSS is the binary's shared code pages. */
  anonMb: number;
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

async function sample(
  argv: string[],
  env: Record<string, string>,
  stopWith: NodeJS.Signals = 'SIGTERM',
): Promise<Sample> {
  const port = freePort();
  const t0 = performance.now();
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  try {
    await firstHealthy(`http://127.0.0.1:${port}/health`, t0 + 10_000);
    const bootMs = performance.now() - t0;
    await Bun.sleep(IDLE_SETTLE_MS);
    return { bootMs, ...memory(proc.pid) };
  } finally {
    proc.kill(stopWith);
    await proc.exited;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] as number;

const hub = join(root, 'dist/parachute');
const warmHome = join(work, 'warm-home');
const crashHome = join(work, 'crash-home');
const cases = [
  { name: 'floor: compiled Bun.serve', run: () => sample([floorBin], {}) },
  {
    name: 'hub, first boot (new home)',
    run: () => sample([hub, 'serve'], { PARACHUTE_HOME: mkdtempSync(join(work, 'home-')) }),
  },
  {
    name: 'hub, warm boot (clean stop before)',
    run: () => sample([hub, 'serve'], { PARACHUTE_HOME: warmHome }),
  },
  {
    // The WAL left by a SIGKILL is recovered on the next boot.
    name: 'hub, boot after SIGKILL',
    run: () => sample([hub, 'serve'], { PARACHUTE_HOME: crashHome }, 'SIGKILL'),
  },
];

console.log(
  `boot: exec -> first /health 200, ${RUNS} runs each, idle RSS after ${IDLE_SETTLE_MS} ms`,
);
console.log(`machine: ${navigator.hardwareConcurrency} cores, bun ${Bun.version}\n`);
const rows: string[][] = [
  ['case', 'boot median', 'boot p90', 'boot min', 'idle RSS median', 'of which anon'],
];
for (const c of cases) {
  const samples: Sample[] = [];
  // Interleaving would be fairer against drift, but each case needs its own warm-up anyway.
  await c.run();
  for (let i = 0; i < RUNS; i++) samples.push(await c.run());
  const boots = samples.map((s) => s.bootMs);
  rows.push([
    c.name,
    `${median(boots).toFixed(1)} ms`,
    `${p90(boots).toFixed(1)} ms`,
    `${Math.min(...boots).toFixed(1)} ms`,
    `${median(samples.map((s) => s.rssMb)).toFixed(1)} MB`,
    `${median(samples.map((s) => s.anonMb)).toFixed(1)} MB`,
  ]);
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
console.log('\ntargets for the hub: boot <= 60 ms, idle RSS <= 45 MB');
