/**
 * Export and import of a hub with about 100 MB of module data (issue 18,
 * "Figures"): the compiled hub, the ledger fixture module seeded with rows
 * of random hex in its own SQLite database, then `parachute export` (the
 * CLI against the running hub: snapshot, archive, download, verification)
 * and `parachute import` into a fresh home, timed end to end.
 *
 *   npm run bench:export               (builds first)
 *   bun run bench/export.ts [mb] [runs]  (uses dist/parachute as it is)
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, freshHub } from '../test/helpers/api.ts';
import { runBinary } from '../test/helpers/binary.ts';
import { packFixture } from '../test/helpers/fixtures.ts';
import { waitFor } from './lib.ts';

const MB = Number(process.argv[2] ?? 100);
const RUNS = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), 'parachute-bench-export-'));

const { hub, url, bin } = await freshHub({
  PARACHUTE_INITIAL_ADMIN_USERNAME: ADMIN.username,
  PARACHUTE_INITIAL_ADMIN_PASSWORD: ADMIN.password,
});
const env = { PARACHUTE_HOME: hub.home };
try {
  const installed = await runBinary(bin, ['install', await packFixture('ledger')], { env });
  if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
  await waitFor('fx-ledger', async () =>
    (await fetch(`${url}/fx-ledger/count`)).ok ? true : undefined,
  );
  const seeded = performance.now();
  await fetch(`${url}/fx-ledger/seed?mb=${MB}`, { method: 'POST' });
  const db = join(hub.home, 'fx-ledger', 'ledger.db');
  const rows = ((await (await fetch(`${url}/fx-ledger/count`)).json()) as { rows: number }).rows;
  console.log(
    `module data: ${mb(statSync(db).size)} in ledger.db (${rows} rows, seeded in ${Math.round(performance.now() - seeded)} ms)`,
  );

  const exports: number[] = [];
  const imports: number[] = [];
  const healthMs: number[] = [];
  const cliRss = { export: 0, import: 0 };
  let size = 0;
  for (let i = 0; i < RUNS; i++) {
    const out = join(work, `run-${i}.tar.gz`);
    // /health asked every 20 ms meanwhile: how long the hub stops answering.
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        await fetch(`${url}/health`).then((r) => r.arrayBuffer());
        healthMs.push(performance.now() - t);
        await Bun.sleep(20);
      }
    })();
    let started = performance.now();
    const exported = await runBinary(bin, ['export', '-o', out], { env });
    exports.push(performance.now() - started);
    probing = false;
    await probe;
    if (exported.code !== 0) throw new Error(`export failed: ${exported.stderr}`);
    cliRss.export = Math.max(cliRss.export, exported.maxRss);
    size = statSync(out).size;
    const home = join(work, `home-${i}`);
    started = performance.now();
    const imported = await runBinary(bin, ['import', out], { env: { PARACHUTE_HOME: home } });
    imports.push(performance.now() - started);
    if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
    cliRss.import = Math.max(cliRss.import, imported.maxRss);
    rmSync(home, { recursive: true, force: true });
    rmSync(out, { force: true });
  }
  // The archive is streamed (tar-stream, node:zlib): the hub's peak RSS shows it stays flat.
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8'))?.[1];
  console.log(`archive: ${mb(size)} (gzip level 6)`);
  console.log(
    `export (parachute export, end to end): median ${median(exports)} ms over ${RUNS} runs`,
  );
  console.log(
    `import (parachute import, verify + write + integrity_check): median ${median(imports)} ms`,
  );
  const sorted = [...healthMs].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  console.log(
    `/health during exports: p99 ${Math.round(p99)} ms, worst ${Math.round(sorted.at(-1) ?? 0)} ms (${sorted.length} probes)`,
  );
  if (peak) console.log(`hub peak RSS after the exports: ${mb(Number(peak) * 1024)}`);
  console.log(
    `CLI peak RSS: parachute export ${mb(cliRss.export)}, parachute import ${mb(cliRss.import)}`,
  );
} finally {
  hub.proc.kill('SIGTERM');
  await hub.proc.exited;
  rmSync(work, { recursive: true, force: true });
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] as number);
}
