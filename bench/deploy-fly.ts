// Figures for issue 19: Machines API requests made and seconds taken by
// `parachute deploy fly` against the fake Machines API (test/helpers/fake-fly.ts)
// with realistic latencies, for a first deploy, a re-run, and a roll to
// another version (with the seconds /health did not answer during it).
//   bun run build.ts && bun run bench/deploy-fly.ts
import { VERSION } from '../src/version.ts';
import { ADMIN } from '../test/helpers/api.ts';
import { isolatedBinary, runBinary } from '../test/helpers/binary.ts';
import { REALISTIC_BOOT_MS, startFakeFly } from '../test/helpers/fake-fly.ts';
import { EdgeClient, edgeFetch } from '../test/helpers/fly-edge.ts';
import { buildVersion, NEW_VERSION, removeBuild } from '../test/helpers/newer-build.ts';
import { assetForThisMachine, ReleaseServer } from '../test/helpers/release-server.ts';

const IMAGE = 'registry.test/parachute-hub:bench';
// The fake's 'realistic' latencies (test/helpers/fake-fly-limits.ts): reads
// 80 ms, app create 0.7 s, IP 0.5 s, secrets 0.4 s, volume 1.5 s, machine
// create 1.2 s, update 0.8 s, lease 0.15 s, and a 2.5 s boot (image pull +
// Firecracker) before the machine's process runs. Estimates, not measurements.
const LATENCY = 'realistic' as const;

const { bin } = isolatedBinary();
const release = new ReleaseServer(assetForThisMachine(), { binary: bin, version: VERSION });
const fake = await startFakeFly({
  image: { [IMAGE]: bin },
  latencyMs: LATENCY,
  bootMs: REALISTIC_BOOT_MS,
  // Fly's documented limits: 1 req/s per action (burst 3), GET machine 5/s.
  rateLimit: true,
});
const env = {
  FLY_API_TOKEN: fake.token,
  FLY_API_HOSTNAME: fake.api,
  PARACHUTE_FLY_EDGE: fake.edge,
  PARACHUTE_FLY_IMAGE: IMAGE,
  PARACHUTE_RELEASE_URL: release.url,
};
const app = 'bench-hub';
let newer: string | undefined;

/** Runs one deploy; its last line says `(N Machines API requests…, S s)`. Returns its output. */
async function run(label: string, args: string[]): Promise<string> {
  const started = performance.now();
  const out = await runBinary(bin, ['deploy', 'fly', '--app', app, ...args], { env });
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) throw new Error(`${label} failed: ${out.stderr}\n${out.stdout}`);
  const requests = /\((\d+) Machines API requests/.exec(out.stdout)?.[1];
  console.log(`${label.padEnd(22)} ${requests?.padStart(3)} requests  ${seconds.toFixed(1)} s`);
  return out.stdout;
}

try {
  console.log(
    `fake Machines API with its realistic latencies (reads 80 ms, creates 0.4-1.5 s, update 0.8 s, boot ${REALISTIC_BOOT_MS / 1000} s) and Fly's rate limits`,
  );
  const first = await run('first deploy', []);
  // The person claims the hub with the printed token (else a re-run sets a new one).
  const token = /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(first)?.[0];
  const setup = await new EdgeClient(fake.edge, app).post('/api/setup', {
    bootstrap_token: token,
    ...ADMIN,
  });
  if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.text}`);
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
