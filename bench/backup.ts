/**
 * Backups of a hub with about 100 MB of module data (issue 18, "Figures"),
 * side by side: `parachute export` (time, archive size), a scheduled backup
 * with its restore drill (time, stored size, drill time) to a local folder,
 * and the hub's request latency meanwhile: p50/p99 of /health and of a
 * proxied GET (the ledger module's own /health through the hub), idle
 * against during the export and during the backup.
 *
 *   npm run bench:backup                  (builds first)
 *   bun run bench/backup.ts [mb] [runs]   (uses dist/parachute as it is)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, freshHub } from '../test/helpers/api.ts';
import { type BackupRun, backUpNow } from '../test/helpers/backups.ts';
import { runBinary } from '../test/helpers/binary.ts';
import { packFixture } from '../test/helpers/fixtures.ts';
import { operatorClient } from '../test/helpers/modules.ts';
import { waitFor } from './lib.ts';

const MB = Number(process.argv[2] ?? 100);
const RUNS = Number(process.argv[3] ?? 2);
const work = mkdtempSync(join(tmpdir(), 'parachute-bench-backup-'));

const { hub, url, bin } = await freshHub({
  PARACHUTE_INITIAL_ADMIN_USERNAME: ADMIN.username,
  PARACHUTE_INITIAL_ADMIN_PASSWORD: ADMIN.password,
});
const env = { PARACHUTE_HOME: hub.home };
const call = operatorClient(url, hub.home);

/** Latencies of /health and a proxied GET, each asked every 10 ms until `until` settles. */
async function probeWhile<T>(
  until: Promise<T>,
): Promise<{ result: T; health: number[]; proxied: number[] }> {
  const health: number[] = [];
  const proxied: number[] = [];
  let on = true;
  const loop = async (path: string, into: number[]) => {
    while (on) {
      const t = performance.now();
      await fetch(`${url}${path}`).then((r) => r.arrayBuffer());
      into.push(performance.now() - t);
      await Bun.sleep(10);
    }
  };
  const loops = [loop('/health', health), loop('/fx-ledger/health', proxied)];
  const result = await until;
  on = false;
  await Promise.all(loops);
  return { result, health, proxied };
}

type Run = BackupRun & {
  stored_bytes: number;
  started_at: number;
  finished_at: number;
  bytes: number;
  drill: { ms: number };
};
const backupOnce = async () => (await backUpNow(call, 600_000)) as Run;

try {
  const installed = await runBinary(bin, ['install', await packFixture('ledger')], { env });
  if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
  await waitFor('fx-ledger', async () =>
    (await fetch(`${url}/fx-ledger/count`)).ok ? true : undefined,
  );
  await fetch(`${url}/fx-ledger/seed?mb=${MB}`, { method: 'POST' });
  const db = join(hub.home, 'fx-ledger', 'ledger.db');
  console.log(`module data: ${mb(statSync(db).size)} in ledger.db`);
  // Paused schedule: only the runs this script starts.
  const saved = await call('PUT', '/api/hub/backups/config', {
    enabled: false,
    target: { kind: 'local', path: join(work, 'backups') },
    encryption: { kind: 'passphrase', passphrase: 'bench passphrase, long enough' },
  });
  if (saved.status !== 200) throw new Error(`backup settings refused: ${saved.text}`);

  const idle = await probeWhile(Bun.sleep(10_000));
  const exportLat = { health: [] as number[], proxied: [] as number[] };
  const backupLat = { health: [] as number[], proxied: [] as number[] };
  const exportMs: number[] = [];
  const backupMs: number[] = [];
  const drillMs: number[] = [];
  let archive = 0;
  let stored = 0;
  for (let i = 0; i < RUNS; i++) {
    const out = join(work, `export-${i}.tar.gz`);
    const t = performance.now();
    const exported = await probeWhile(runBinary(bin, ['export', '-o', out], { env }));
    exportMs.push(performance.now() - t);
    if (exported.result.code !== 0) throw new Error(`export failed: ${exported.result.stderr}`);
    archive = statSync(out).size;
    rmSync(out);
    exportLat.health.push(...exported.health);
    exportLat.proxied.push(...exported.proxied);

    const backed = await probeWhile(backupOnce());
    const run = backed.result;
    if (run.state !== 'ok') throw new Error(`backup failed: ${run.error}`);
    backupMs.push(run.finished_at - run.started_at);
    drillMs.push(run.drill.ms);
    stored = run.stored_bytes;
    backupLat.health.push(...backed.health);
    backupLat.proxied.push(...backed.proxied);
  }
  console.log(`\n${RUNS} runs each, medians:`);
  console.log(
    `export (parachute export, end to end): ${median(exportMs)} ms, archive ${mb(archive)}`,
  );
  console.log(
    `scheduled backup (snapshot, age, write, read back, restore drill): ${median(backupMs)} ms, stored ${mb(stored)} (drill ${median(drillMs)} ms)`,
  );
  console.log(
    '\nlatency (ms)           idle p50/p99     during export p50/p99   during backup p50/p99',
  );
  for (const [name, key] of [
    ['/health', 'health'],
    ['proxied GET', 'proxied'],
  ] as const) {
    console.log(
      `${name.padEnd(22)} ${pair(idle[key]).padEnd(16)} ${pair(exportLat[key]).padEnd(23)} ${pair(backupLat[key])}`,
    );
  }
} finally {
  hub.proc.kill('SIGTERM');
  await hub.proc.exited;
  rmSync(work, { recursive: true, force: true });
}

function pair(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.floor(sorted.length * q)] ?? 0).toFixed(2);
  return `${at(0.5)} / ${at(0.99)}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] as number);
}
