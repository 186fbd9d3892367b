// Figures for issue 19: Machines API requests made and seconds taken by
// `parachute deploy fly` against the fake Machines API (test/helpers/fake-fly.ts)
// with realistic latencies, for a first deploy, a re-run, and a roll to
// another version (with the seconds /health did not answer during it).
//   bun run build.ts && bun run bench/deploy-fly.ts
import { VERSION } from '../src/version.ts';
import { isolatedBinary, runBinary } from '../test/helpers/binary.ts';
import { startFakeFly } from '../test/helpers/fake-fly.ts';
import { edgeFetch } from '../test/helpers/fly-edge.ts';
import { buildVersion, NEW_VERSION, removeBuild } from '../test/helpers/newer-build.ts';
import { assetForThisMachine, ReleaseServer } from '../test/helpers/release-server.ts';

const IMAGE = 'registry.test/parachute-hub:bench';
// What api.machines.dev costs from a laptop in Europe to iad, roughly: ~100 ms
// a round trip, and flyd's own work on creates (a volume ~1 s, a machine ~2 s).
const LATENCY = { requestMs: 100, createVolumeMs: 1000, createMachineMs: 2000 };

const { bin } = isolatedBinary();
const release = new ReleaseServer(assetForThisMachine(), { binary: bin, version: VERSION });
const fake = await startFakeFly({ image: { [IMAGE]: bin }, latencyMs: LATENCY });
const env = {
  FLY_API_TOKEN: fake.token,
  FLY_API_HOSTNAME: fake.api,
  PARACHUTE_FLY_EDGE: fake.edge,
  PARACHUTE_FLY_IMAGE: IMAGE,
  PARACHUTE_RELEASE_URL: release.url,
};
const app = 'bench-hub';
let newer: string | undefined;

/** Runs one deploy; its last line says `(N Machines API requests…, S s)`. */
async function run(label: string, args: string[]) {
  const started = performance.now();
  const out = await runBinary(bin, ['deploy', 'fly', '--app', app, ...args], { env });
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) throw new Error(`${label} failed: ${out.stderr}\n${out.stdout}`);
  const requests = /\((\d+) Machines API requests/.exec(out.stdout)?.[1];
  console.log(`${label.padEnd(22)} ${requests?.padStart(3)} requests  ${seconds.toFixed(1)} s`);
}

try {
  console.log(
    `fake Machines API latency: ${LATENCY.requestMs} ms per request, volume create +${LATENCY.createVolumeMs} ms, machine create +${LATENCY.createMachineMs} ms`,
  );
  await run('first deploy', []);
  await run('re-run (nothing to do)', []);

  // A roll to another release, watching /health through the edge every 100 ms.
  newer = await buildVersion(NEW_VERSION);
  release.publish({ binary: newer, version: NEW_VERSION });
  const get = edgeFetch(fake.edge);
  let down = 0;
  let last = performance.now();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const ok = await get(`https://${app}.fly.dev/health`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.ok)
        .catch(() => false);
      const now = performance.now();
      if (!ok) down += now - last;
      last = now;
      await Bun.sleep(100);
    }
  })();
  await run(`roll to ${NEW_VERSION}`, ['--version', NEW_VERSION]);
  watching = false;
  await watcher;
  console.log(`/health did not answer for ${(down / 1000).toFixed(1)} s during the roll`);
} finally {
  await fake.stop();
  release.stop();
  removeBuild(newer);
}
