/**
 * What one proxied request costs the hub itself, without the other proxies
 * of bench/proxy.ts, and side by side with other builds of it: each hub
 * runs from source (src/hub/hub.ts startHub) in a process of its own, with
 * the proxy bench's fixture module (bench/fixtures/proxy-module) as a
 * services.json row, and wrk sends small keep-alive GETs under the module's
 * mount with the proxy bench's browser-like headers (a cookie header with
 * the hub's cookies in it). The figure is each hub process's CPU time (user
 * + system, every thread) per request, split into its JS thread (`bun`) and
 * Bun's fetch client thread (`HTTP Client`).
 *
 * On a small shared machine CPU per request drifts by 20% from minute to
 * minute with what else runs, more than most changes move it, so targets
 * are measured in turns: every round runs each once, in a rotating order,
 * and the output gives each one's median and, against the first target,
 * the median of the per-round differences.
 *
 *   bun run bench/hub-request.ts [seconds] [rounds] [hub.ts or binary ...]
 *       default 3 s, 8 rounds, this tree's src/hub/hub.ts; name another
 *       tree's (a worktree at the commit before a change) to compare, or a
 *       compiled hub (dist/parachute), run as `parachute serve`
 *   FIXTURE=1   adds bench/fixtures/bun-proxy-forwarding.ts with a pool per
 *               client connection (the proxy bench's row), also from source
 *
 * The module's row is unmanaged (no supervisor state is read per request);
 * everything else on the path, the Host check, routing, pools, header work,
 * runs as in `parachute serve`. `bun --cpu-prof bench/hub-request.ts --serve
 * src/hub/hub.ts` runs one hub alone (MODULE_PORT set) for profiling. Needs wrk.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Subprocess } from 'bun';
import { freePort, waitFor } from './lib.ts';

/** Child: one hub with the module's row, printing its mount's URL. */
async function serveOne(hubSrc: string, modulePort: number): Promise<void> {
  const { startHub } = (await import(hubSrc)) as typeof import('../src/hub/hub.ts');
  const home = homeWithModule(modulePort);
  const hub = await startHub({
    hostname: '127.0.0.1',
    port: 0,
    home,
    spaFiles: {},
    env: { ...process.env, PARACHUTE_HOME: home },
  });
  process.on('SIGTERM', () => {
    void hub.stop().finally(() => {
      rmSync(home, { recursive: true, force: true });
      process.exit(0);
    });
  });
  console.log(`READY ${hub.url}/bench`);
}

/** A hub home whose services.json has the module's row (a module the hub does not run). */
function homeWithModule(modulePort: number): string {
  const home = mkdtempSync(join(tmpdir(), 'parachute-bench-hub-request-'));
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
  return home;
}

interface Target {
  name: string;
  base: string;
  proc: Subprocess<'ignore', 'pipe', 'inherit'>;
}

async function compare(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 8);
  const hubs = process.argv.slice(4).map((p) => resolve(p));
  if (hubs.length === 0) hubs.push(join(import.meta.dir, '../src/hub/hub.ts'));
  const wrk = Bun.which('wrk');
  if (!wrk) throw new Error('wrk is not installed: apt-get install -y wrk');

  const modulePort = freePort();
  const module = Bun.spawn(['bun', join(import.meta.dir, 'fixtures/proxy-module/server.ts')], {
    env: { ...process.env, PORT: String(modulePort) },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const targets: Target[] = [];
  const homes: string[] = [];
  const start = async (
    name: string,
    argv: string[],
    env: Record<string, string> = {},
    path = '',
  ) => {
    const proc = Bun.spawn(argv, {
      env: { ...process.env, MODULE_PORT: String(modulePort), ...env },
      stdout: 'pipe',
      stderr: 'inherit',
    });
    let base = env.PORT ? `http://127.0.0.1:${env.PORT}${path}` : '';
    if (!base) {
      // The hub logs to stdout too: read until the child's READY line, then keep draining.
      const reader = proc.stdout.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!/READY \S+\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${name} exited before it was ready`);
        text += decoder.decode(value, { stream: true });
      }
      base = /READY (\S+)\n/.exec(text)?.[1] as string;
      void (async () => {
        while (!(await reader.read()).done) {}
      })();
    }
    targets.push({ name, base, proc });
    await waitFor(name, async () => ((await fetch(`${base}/small`)).ok ? true : undefined));
  };
  try {
    await waitFor('the module', async () =>
      (await fetch(`http://127.0.0.1:${modulePort}/health`)).ok ? true : undefined,
    );
    for (const hub of hubs) {
      if (hub.endsWith('.ts')) await start(hub, ['bun', import.meta.path, '--serve', hub]);
      else {
        // A compiled hub: `parachute serve` on a home with the module's row.
        const home = homeWithModule(modulePort);
        homes.push(home);
        const port = freePort();
        await start(hub, [hub, 'serve'], { PORT: String(port), PARACHUTE_HOME: home }, '/bench');
      }
    }
    if (process.env.FIXTURE) {
      await start(
        'Bun proxy + forwarding, a pool per client connection',
        ['bun', join(import.meta.dir, 'fixtures/bun-proxy-forwarding.ts')],
        {
          PORT: String(freePort()),
          UPSTREAM: `http://127.0.0.1:${modulePort}`,
          POOL_PER_VISITOR: '1',
        },
      );
    }
    const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
    for (const t of targets) await run(wrk, t, 2); // warm-up: JIT, pools
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + round) % targets.length] as Target;
        samples.get(t)?.push(await run(wrk, t, seconds));
      }
    }
    report(targets, samples);
  } finally {
    for (const t of targets) t.proc.kill('SIGTERM');
    await Promise.all(targets.map((t) => t.proc.exited));
    module.kill();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
}

interface Sample {
  cpuUs: number;
  jsUs: number;
  httpUs: number;
  rps: number;
}

/** CPU ticks (user + system, 10 ms each) of a process's threads: all, the JS thread, the fetch thread. */
function ticks(pid: number): { all: number; js: number; http: number } {
  const out = { all: 0, js: 0, http: 0 };
  for (const tid of new Bun.Glob('*').scanSync({ cwd: `/proc/${pid}/task`, onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = Number(fields[11]) + Number(fields[12]);
      out.all += t;
      if (tid === String(pid)) out.js += t;
      else if (name === 'HTTP Client') out.http += t;
    } catch {
      // the thread ended
    }
  }
  return out;
}

const HEADERS = [
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language: en-GB,en;q=0.9',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Cookie: _ga=GA1.1.1804471234.1731000000; theme=dark; parachute_session=s0m3s3ss10nv4lu3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; lang=en-GB; parachute_csrf=c5rfv4lu3BBBBBBBBBBBBBBBBBBBBBB; _gid=GA1.1.2093312233.1731000000',
];

async function run(wrk: string, t: Target, seconds: number): Promise<Sample> {
  const before = ticks(t.proc.pid);
  const argv = [wrk, '-t1', '-c50', `-d${seconds}s`, ...HEADERS.flatMap((h) => ['-H', h])];
  const proc = Bun.spawn([...argv, `${t.base}/small`], { stdout: 'pipe', stderr: 'inherit' });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const after = ticks(t.proc.pid);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out) || !requests) throw new Error(`wrk on ${t.name}:\n${out}`);
  const us = (a: number, b: number) => ((a - b) * 10_000) / requests;
  return {
    cpuUs: us(after.all, before.all),
    jsUs: us(after.js, before.js),
    httpUs: us(after.http, before.http),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function report(targets: Target[], samples: Map<Target, Sample[]>): void {
  const first = samples.get(targets[0] as Target) ?? [];
  console.log('CPU per small GET, us (median over rounds; 50 connections)');
  for (const t of targets) {
    const s = samples.get(t) ?? [];
    const diff = s.map((x, i) => x.cpuUs - (first[i]?.cpuUs ?? Number.NaN));
    const cpu = s.map((x) => x.cpuUs);
    console.log(
      [
        `${median(cpu).toFixed(1).padStart(6)} total (${Math.min(...cpu).toFixed(1)}-${Math.max(...cpu).toFixed(1)})`,
        `JS thread ${median(s.map((x) => x.jsUs)).toFixed(1)}`,
        `HTTP Client ${median(s.map((x) => x.httpUs)).toFixed(1)}`,
        `${(median(s.map((x) => x.rps)) / 1000).toFixed(1)}k req/s`,
        t === targets[0]
          ? 'reference'
          : `vs first: ${median(diff) >= 0 ? '+' : ''}${median(diff).toFixed(1)}`,
        t.name,
      ].join('  '),
    );
  }
}

if (process.argv[2] === '--serve') {
  await serveOne(resolve(process.argv[3] as string), Number(process.env.MODULE_PORT));
} else {
  await compare();
}
