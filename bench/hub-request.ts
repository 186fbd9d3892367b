/**
 * What one proxied request costs the hub itself, without the other rows of
 * bench/proxy.ts: the hub runs in this process (src/hub/hub.ts startHub, from
 * source), with the proxy bench's fixture module (bench/fixtures/proxy-module)
 * registered in services.json as a module the hub does not run, and wrk
 * sends it small keep-alive GETs under the module's mount with the proxy
 * bench's browser-like headers (a cookie header with the hub's cookies in
 * it). The figure is this process's CPU time (user + system, every thread,
 * process.cpuUsage) per request: wrk and the module are other processes,
 * and this script idles while wrk runs, so it is the hub's fetch handler,
 * the proxy, Bun.serve and Bun's fetch client.
 *
 *   bun run bench/hub-request.ts [seconds] [rounds] [connections]
 *       default 5 s, 5 rounds, 50 connections; prints each round and the median
 *   HUB_SRC=/other/tree/src/hub/hub.ts   measures that tree's hub (A/B of a change)
 *   bun --cpu-prof bench/hub-request.ts  a CPU profile of the same load
 *
 * The module's row is unmanaged (no supervisor state is read per request);
 * everything else on the path, the Host check, routing, pools, header work,
 * runs as in `parachute serve`. Needs wrk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from './lib.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 5);
const CONNECTIONS = Number(process.argv[4] ?? 50);
const wrk = Bun.which('wrk');
if (!wrk) throw new Error('wrk is not installed: apt-get install -y wrk');

const hubSrc = resolve(process.env.HUB_SRC ?? join(import.meta.dir, '../src/hub/hub.ts'));
const { startHub } = (await import(hubSrc)) as typeof import('../src/hub/hub.ts');

const home = mkdtempSync(join(tmpdir(), 'parachute-bench-hub-request-'));
const modulePort = freePort();
const module = Bun.spawn(['bun', join(import.meta.dir, 'fixtures/proxy-module/server.ts')], {
  env: { ...process.env, PORT: String(modulePort) },
  stdout: 'ignore',
  stderr: 'inherit',
});
writeFileSync(
  join(home, 'services.json'),
  JSON.stringify({
    services: [
      {
        name: 'bench-proxy',
        port: modulePort,
        paths: ['/bench'],
        health: '/health',
        version: '1.0.0',
        stripPrefix: true,
      },
    ],
  }),
);
await waitFor('the module', async () =>
  (await fetch(`http://127.0.0.1:${modulePort}/health`)).ok ? true : undefined,
);
const hub = await startHub({
  hostname: '127.0.0.1',
  port: 0,
  home,
  spaFiles: {},
  env: { ...process.env, PARACHUTE_HOME: home },
});
const url = `${hub.url}/bench/small`;
await waitFor('the mount', async () => {
  const res = await fetch(url);
  return (await res.text()).startsWith('hello') ? true : undefined;
});

// The proxy bench's headers: a browser's, with the hub's cookies among others.
const headers = [
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language: en-GB,en;q=0.9',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Cookie: _ga=GA1.1.1804471234.1731000000; theme=dark; parachute_session=s0m3s3ss10nv4lu3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; lang=en-GB; parachute_csrf=c5rfv4lu3BBBBBBBBBBBBBBBBBBBBBB; _gid=GA1.1.2093312233.1731000000',
];

async function run(seconds: number): Promise<{ rps: number; cpuUs: number }> {
  const before = process.cpuUsage();
  const proc = Bun.spawn(
    [
      wrk as string,
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      ...headers.flatMap((h) => ['-H', h]),
      url,
    ],
    { stdout: 'pipe', stderr: 'inherit' },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const used = process.cpuUsage(before);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out) || !requests) throw new Error(`wrk:\n${out}`);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    cpuUs: (used.user + used.system) / requests,
  };
}

try {
  await run(2); // warm-up: JIT, pools
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const s = await run(SECONDS);
    samples.push(s.cpuUs);
    console.log(
      `round ${i + 1}: ${s.cpuUs.toFixed(1)} us/req, ${(s.rps / 1000).toFixed(1)}k req/s`,
    );
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    `hub CPU per small GET (${CONNECTIONS} connections): median ${median.toFixed(1)} us/req, range ${sorted[0]?.toFixed(1)}-${sorted.at(-1)?.toFixed(1)}`,
  );
} finally {
  await hub.stop();
  module.kill();
  rmSync(home, { recursive: true, force: true });
}
