/**
 * What the hub's proxy costs, in one run on loopback with one load generator
 * (wrk) for every target: requests/s and p50/p99 latency for small keep-alive
 * GETs, a 1 MiB response body (GET) and a 1 MiB upload (POST), against one
 * fixture module (bench/fixtures/proxy-module), reached
 *
 *  - directly, on its own port;
 *  - through the compiled hub (`parachute serve`, the module installed through
 *    its API as a local folder package, requests under its mount `/bench`);
 *  - through a minimal compiled `Bun.serve` + `fetch` forwarding proxy
 *    (bench/fixtures/bun-proxy.ts, built like the hub: the floor for a Bun proxy);
 *  - through that proxy plus the per-request work any correct forwarding proxy
 *    does (bench/fixtures/bun-proxy-forwarding.ts: peer address, hop-by-hop
 *    headers both ways, hub cookies, forwarding headers), so the output can
 *    say what that work costs done with fetch;
 *  - through that same proxy with a keep-alive pool per client connection,
 *    as the hub forwards (modules.md section 7: no connection to a module
 *    carries two visitors' requests; src/hub/visitor-pools.ts), so the output
 *    can say what that rule costs and what the hub adds to it;
 *  - through nginx (`proxy_pass` to an upstream with `keepalive 64`, one worker);
 *  - through Caddy (`reverse_proxy`).
 *
 * Every request carries the same browser-like headers, with a cookie header
 * that holds the hub's real `parachute_session` and `parachute_csrf` cookies
 * among others, so the hub's cookie stripping runs on every request.
 *
 * Targets for the hub (small GETs): >= 1.0x "Bun proxy + forwarding", >= 2x
 * Caddy, and under 1 ms of p99 latency added to the direct p99. nginx and
 * Caddy, like the two shared-pool Bun rows, reuse upstream connections across
 * clients, which the hub does not (above). The p99 target
 * is judged on one connection (`small GET, 1 conn`): at 50 connections every
 * target's p99 is mostly queueing (about 50 / req/s), so there it restates
 * req/s; those numbers are printed too.
 *
 * Load: `wrk -t1 -c50 -d<seconds>s --latency`, after a warm-up run of every
 * target and case. This machine may have 2 cores: wrk's one thread takes
 * about one of them, so the proxy and the module share the other and every
 * number here is lower than on a machine where the load generator has its own
 * cores. Rounds are interleaved (every target once per round, in a new random
 * order each round) so drift and other load spread over all targets; the table shows the
 * median over rounds and the req/s range.
 *
 * nginx keeps its default response buffering and buffers request bodies up to
 * 2 MiB in memory (`client_body_buffer_size 2m`): here that was its best
 * showing, ~1.6x and ~1.8x better on the 1 MiB download and upload than
 * `proxy_buffering off` / `proxy_request_buffering off`, and ~3.8x better on
 * the upload than spilling each body to a temp file (its default). It sets
 * X-Forwarded-For/Proto/Host like the hub; Caddy's `reverse_proxy` streams and
 * sets them by default. Both run in the foreground from config files in a temp
 * folder, on free ports.
 *
 * "proxy CPU/req" is the CPU time (user + system, every thread) the proxy's
 * processes used during a run divided by the requests served: on a machine
 * this small and shared it moves less than req/s does.
 *
 *   npm run bench:proxy                          (builds first)
 *   bun run bench/proxy.ts [seconds] [rounds] [cases]
 *       uses dist/parachute as it is; default 5 s, 3 rounds, every case
 *       (cases: a comma-separated subset of small,latency,big,upload)
 *
 * PARACHUTE_BENCH_PIN=1 runs every proxy and the module on one core (the
 * machine's last) and wrk on the others: the box a small VPS with one vCPU
 * gives the hub, where the proxy and its modules share a core and a proxy's
 * extra threads buy it nothing. Without it, every process may run on every
 * core, so a proxy with many threads (Caddy) also takes time from wrk's core.
 * It needs taskset (util-linux) and at least two cores.
 *
 * PARACHUTE_BENCH_HUB=/path/to/parachute measures that binary instead of
 * dist/parachute (to compare builds). Needs wrk (`apt-get install -y wrk nginx
 * caddy`); without nginx or Caddy their rows are skipped and the output says so.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Subprocess } from 'bun';
import { freePort, waitFor } from './lib.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Which cases to run (ids: small, latency, big, upload); all by default. */
const ONLY = process.argv[4]?.split(',');
const WARMUP_SECONDS = 2;
const THREADS = 1;
const CONNECTIONS = 50;
const MIB = 1024 * 1024;
const MOUNT = '/bench';
const PASSWORD = 'bench-proxy-password';
const TARGET_VS_FORWARDING = 1;
const TARGET_VS_CADDY = 2;
const TARGET_ADDED_P99_MS = 1;
/** The second floor's rows (bench/fixtures/bun-proxy-forwarding.ts), pooled and not. */
const FORWARDING = 'Bun proxy + forwarding';
const PER_REQUEST = 'Bun proxy + forwarding, a pool per client connection';

const root = resolve(import.meta.dir, '..');
// PARACHUTE_BENCH_HUB measures another build of the hub (say, before a change) with the same bench.
const BUILT = resolve(process.env.PARACHUTE_BENCH_HUB ?? join(root, 'dist/parachute'));
if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`bun run build.ts\` first`);
const wrk = Bun.which('wrk');
if (!wrk) {
  throw new Error(
    'wrk is not installed, so nothing can be measured: apt-get install -y wrk nginx caddy',
  );
}

/**
 * With PARACHUTE_BENCH_PIN=1: the core every proxy and the module run on, and
 * the cores wrk runs on (taskset lists); null runs everything anywhere.
 */
const PIN = pinning(process.env.PARACHUTE_BENCH_PIN === '1');
function pinning(wanted: boolean): { proxy: string; load: string } | null {
  if (!wanted) return null;
  const cores = navigator.hardwareConcurrency;
  if (cores < 2) throw new Error('PARACHUTE_BENCH_PIN=1 needs at least two cores');
  if (!Bun.which('taskset')) {
    throw new Error('PARACHUTE_BENCH_PIN=1 needs taskset: apt-get install -y util-linux');
  }
  return { proxy: String(cores - 1), load: cores === 2 ? '0' : `0-${cores - 2}` };
}
/** `argv` run on the proxies' core when pinned (taskset execs it: the pid stays the program's). */
const onProxyCore = (argv: string[]) => (PIN ? ['taskset', '-c', PIN.proxy, ...argv] : argv);

const work = mkdtempSync(join(tmpdir(), 'parachute-bench-proxy-'));
const children = new Set<Subprocess>();
/** Module process groups the hub started, killed at cleanup if the hub left them behind. */
const moduleGroups = new Set<number>();
/** Why a comparison did not run (printed with the results). */
const skipped: string[] = [];

// ---------------------------------------------------------------- bookkeeping

let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    // SIGTERM first: the hub stops its module, nginx and Caddy exit cleanly.
    for (const proc of children) if (proc.exitCode === null) proc.kill('SIGTERM');
    for (const proc of children) {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
    }
    for (const pgid of moduleGroups) {
      try {
        // Only a group whose leader still runs from our folder: a recycled pid is someone else's.
        const argv = await Bun.file(`/proc/${pgid}/cmdline`).text();
        if (argv.includes(work)) process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaned;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

/** Starts a child whose output is kept (the last 8 KB) for error messages. */
function spawn(argv: string[], env: Record<string, string> = {}) {
  // Pinned, the hub's module inherits the core from the hub that starts it.
  const proc = Bun.spawn(onProxyCore(argv), {
    cwd: work,
    env: { ...process.env, ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  children.add(proc);
  let tail = '';
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-8192);
    }
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  return { proc, output: () => tail };
}

/** user + system CPU time of these processes, all threads, in ms (the usual 100 ticks per second). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}

/** Live children of `ppid`. */
function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(ppid);
      } catch {
        return false;
      }
    });
}

/** Waits until `base/small` answers 200, failing early if the process exits. */
async function answering(name: string, base: string, child?: ReturnType<typeof spawn>) {
  await waitFor(`${name} to answer`, async () => {
    if (child && child.proc.exitCode !== null) {
      throw new Error(`${name} exited ${child.proc.exitCode}: ${child.output()}`);
    }
    const res = await fetch(`${base}/small`);
    await res.arrayBuffer();
    return res.status === 200 ? true : undefined;
  });
}

// ---------------------------------------------------------------- the targets

interface Target {
  name: string;
  base: string;
  /** The processes doing the proxying, whose CPU time per request is reported (none for direct). */
  pids: number[];
}

/** The hub, from a private copy of dist/parachute (a rebuild during the run cannot swap it). */
async function startHub() {
  const bin = join(work, 'parachute');
  copyFileSync(BUILT, bin);
  const home = join(work, 'home');
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const hub = spawn([bin, 'serve'], {
    PORT: String(port),
    PARACHUTE_HOME: home,
    PARACHUTE_INITIAL_ADMIN_USERNAME: 'admin',
    PARACHUTE_INITIAL_ADMIN_PASSWORD: PASSWORD,
  });
  await waitFor('the hub to be ready', async () => {
    if (hub.proc.exitCode !== null) throw new Error(`hub exited: ${hub.output()}`);
    return (await fetch(`${url}/api/ready`)).status === 200 ? true : undefined;
  });
  const tokenFile = join(home, 'operator.token');
  const token = await waitFor('operator.token', async () =>
    existsSync(tokenFile) ? (await Bun.file(tokenFile).text()).trim() : undefined,
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { hub, url, call, pid: hub.proc.pid };
}

/** Installs the fixture module through the hub's API and returns the port it runs on. */
async function installModule(call: Awaited<ReturnType<typeof startHub>>['call']) {
  // A copy, so `bun add` leaves nothing in the source tree.
  const pkg = join(work, 'proxy-module');
  mkdirSync(pkg);
  for (const file of ['package.json', 'server.ts']) {
    copyFileSync(join(import.meta.dir, 'fixtures/proxy-module', file), join(pkg, file));
  }
  const accepted = await call('POST', '/api/modules/install', {
    package: pkg,
    // The manifest given at install (modules.md section 3), so the module gets a free port.
    manifest: {
      name: 'bench-proxy',
      manifestName: 'parachute-bench-proxy-module',
      port: freePort(),
      paths: [MOUNT],
      health: '/health',
      startCmd: ['bun', 'server.ts'],
      stripPrefix: true,
    },
  });
  if (accepted.status !== 202) throw new Error(`install: ${JSON.stringify(accepted)}`);
  const id = accepted.json.operation_id as string;
  const op = await waitFor(
    'the install to end',
    async () => {
      const o = (await call('GET', `/api/modules/operations/${id}`)).json;
      return o.state === 'running' ? undefined : o;
    },
    120_000,
  );
  if (op.state !== 'succeeded') throw new Error(`install failed: ${JSON.stringify(op)}`);
  const module = await waitFor('the module to run', async () => {
    const list = (await call('GET', '/api/modules')).json.modules as {
      module: string;
      state: string;
      port: number;
      pid: number | null;
    }[];
    const m = list.find((x) => x.module === 'bench-proxy');
    return m?.state === 'running' ? m : undefined;
  });
  if (module.pid) moduleGroups.add(module.pid);
  return module.port;
}

/** A real session of the hub's admin: its cookies ride along on every request. */
async function hubCookies(url: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  await res.arrayBuffer();
  const pairs = res.headers.getSetCookie().map((c) => c.split(';')[0] as string);
  const session = pairs.find((p) => p.startsWith('parachute_session='));
  const csrf = pairs.find((p) => p.startsWith('parachute_csrf='));
  if (res.status !== 200 || !session || !csrf) {
    throw new Error(`could not sign in to the hub for its session cookie (${res.status})`);
  }
  return `_ga=GA1.1.1804471234.1731000000; theme=dark; ${session}; lang=en-GB; ${csrf}; _gid=GA1.1.2093312233.1731000000`;
}

/** A Bun proxy from bench/fixtures, compiled with the flags bench/boot.ts uses (like the hub). */
async function startBunProxy(
  upstream: string,
  fixture: string,
  name: string,
  env: Record<string, string> = {},
): Promise<Target> {
  // Named by row: two rows may run one fixture.
  const bin = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, 'fixtures', fixture)],
    compile: { outfile: bin, autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    bytecode: true,
  });
  if (!built.success) throw new Error(`could not compile ${fixture}`);
  const port = freePort();
  const child = spawn([bin], { PORT: String(port), UPSTREAM: upstream, ...env });
  const base = `http://127.0.0.1:${port}`;
  await answering(name, base, child);
  return { name, base, pids: [child.proc.pid] };
}

async function startNginx(upstreamPort: number): Promise<Target | null> {
  const nginx = Bun.which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
  if (!nginx) {
    skipped.push('nginx: not installed (apt-get install -y nginx); its row is left out');
    return null;
  }
  const dir = join(work, 'nginx');
  mkdirSync(dir);
  const port = freePort();
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  const conf = join(dir, 'nginx.conf');
  // Run by root, nginx's worker would drop to `nobody` and could not use the
  // temp folder (mode 0700): `user root` keeps it as the caller.
  writeFileSync(
    conf,
    `# bench/proxy.ts: one worker, upstream keep-alive, bodies buffered in memory.
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
error_log stderr;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  client_max_body_size 0;
  client_body_buffer_size 2m;
  upstream module {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://module;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}
`,
  );
  const child = spawn([nginx, '-p', dir, '-c', conf, '-e', 'stderr']);
  const base = `http://127.0.0.1:${port}`;
  await answering('nginx', base, child);
  // The master and its one worker (the worker does the proxying).
  return { name: 'nginx', base, pids: [child.proc.pid, ...childrenOf(child.proc.pid)] };
}

async function startCaddy(upstreamPort: number): Promise<Target | null> {
  const caddy = Bun.which('caddy');
  if (!caddy) {
    skipped.push('Caddy: not installed (apt-get install -y caddy); its row is left out');
    return null;
  }
  const dir = join(work, 'caddy');
  mkdirSync(dir);
  const port = freePort();
  const conf = join(dir, 'Caddyfile');
  writeFileSync(
    conf,
    `{
\tadmin off
\tauto_https off
}
http://127.0.0.1:${port} {
\treverse_proxy 127.0.0.1:${upstreamPort}
}
`,
  );
  // Caddy keeps state under HOME/XDG folders: point them into the temp folder.
  const child = spawn([caddy, 'run', '--config', conf, '--adapter', 'caddyfile'], {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
  });
  const base = `http://127.0.0.1:${port}`;
  await answering('Caddy', base, child);
  return { name: 'Caddy', base, pids: [child.proc.pid] };
}

// ---------------------------------------------------------------- measuring

interface Case {
  id: string;
  name: string;
  /** wrk's open connections (CONNECTIONS unless set). */
  connections?: number;
  path: string;
  /** A wrk Lua script (the upload). */
  script?: string;
  /** What the body of every answer must be, checked once per target before measuring. */
  expect: (status: number, body: Uint8Array) => boolean;
}

const ALL_CASES: Case[] = [
  {
    id: 'small',
    name: 'small GET',
    path: '/small',
    expect: (s, b) => s === 200 && b.length === 34,
  },
  {
    // One connection, one request at a time: the latency each hop adds, without queueing.
    id: 'latency',
    name: 'small GET, 1 conn',
    connections: 1,
    path: '/small',
    expect: (s, b) => s === 200 && b.length === 34,
  },
  {
    id: 'big',
    name: '1 MiB GET',
    path: '/big',
    expect: (s, b) => s === 200 && b.length === MIB,
  },
  {
    id: 'upload',
    name: '1 MiB POST',
    path: '/upload',
    script: join(import.meta.dir, 'fixtures/upload.lua'),
    expect: (s, b) => s === 200 && new TextDecoder().decode(b) === `${MIB}\n`,
  },
];
const CASES = ALL_CASES.filter((c) => !ONLY || ONLY.includes(c.id));

interface Sample {
  rps: number;
  /** CPU time (user + system, all threads) the proxy spent per request, in microseconds. */
  cpuUs: number;
  p50: number;
  p99: number;
  /** Non-2xx answers and socket errors: a run with any is reported, never silently used. */
  errors: string | null;
}

let headers: Record<string, string> = {};

/** wrk's latency with its unit (`812.00us`, `1.23ms`, `2.00s`) in milliseconds. */
function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(m[1]) * scale;
}

async function runWrk(target: Target, c: Case, seconds: number): Promise<Sample> {
  const url = `${target.base}${c.path}`;
  const argv = [
    ...(PIN ? ['taskset', '-c', PIN.load] : []),
    wrk as string,
    `-t${THREADS}`,
    `-c${c.connections ?? CONNECTIONS}`,
    `-d${seconds}s`,
    '--latency',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    ...(c.script ? ['-s', c.script] : []),
    url,
  ];
  const cpuBefore = cpuMs(target.pids);
  const proc = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe' });
  children.add(proc);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  children.delete(proc);
  const cpu = cpuMs(target.pids) - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  if (code !== 0 || !Number.isFinite(rps) || !Number.isFinite(p99)) {
    throw new Error(`wrk failed (exit ${code}) on ${url}:\n${out}${err}`);
  }
  const problems = [
    /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[0],
    /Socket errors:.*/.exec(out)?.[0],
  ].filter((p): p is string => p !== undefined);
  return {
    rps,
    cpuUs: target.pids.length > 0 ? (cpu * 1000) / requests : Number.NaN,
    p50,
    p99,
    errors: problems.length > 0 ? problems.join('; ') : null,
  };
}

/** One request per case, so a misrouted or broken target fails loudly instead of being fast. */
async function check(target: Target): Promise<void> {
  for (const c of ALL_CASES) {
    const res = await fetch(`${target.base}${c.path}`, {
      method: c.script ? 'POST' : 'GET',
      headers,
      body: c.script ? new Uint8Array(MIB).fill(120) : undefined,
    });
    const body = await res.bytes();
    if (!c.expect(res.status, body)) {
      throw new Error(
        `${target.name} ${c.path}: unexpected answer ${res.status}, ${body.length} B`,
      );
    }
  }
}

/** A copy of `xs` in random order (Fisher-Yates). */
function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---------------------------------------------------------------- report

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const kReqs = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const ms = (x: number) => (Math.abs(x) < 1 ? `${(x * 1000).toFixed(0)} us` : `${x.toFixed(2)} ms`);
const ratio = (a: number, b: number | undefined) =>
  b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;

function table(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) {
    console.log(
      row
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    );
  }
}

// ---------------------------------------------------------------- main

try {
  console.log(
    `proxy bench: wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s --latency, ${ROUNDS} interleaved rounds after a ${WARMUP_SECONDS} s warm-up per target and case`,
  );
  const placement = PIN
    ? `every proxy and the module pinned to core ${PIN.proxy}, wrk to ${PIN.load}`
    : 'wrk shares them with the proxy and the module';
  console.log(
    `machine: ${navigator.hardwareConcurrency} cores (${placement}), bun ${Bun.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  const { url: hubUrl, call, pid: hubPid } = await startHub();
  const modulePort = await installModule(call);
  const direct = `http://127.0.0.1:${modulePort}`;
  headers = {
    'User-Agent':
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language': 'en-GB,en;q=0.9',
    'Accept-Encoding': 'gzip, deflate, br, zstd',
    Cookie: await hubCookies(hubUrl),
  };
  const targets: Target[] = [
    { name: 'direct', base: direct, pids: [] },
    { name: 'hub', base: `${hubUrl}${MOUNT}`, pids: [hubPid] },
    // The floor: the least a Bun forwarding proxy can do.
    await startBunProxy(direct, 'bun-proxy.ts', 'minimal Bun proxy'),
    // The floor plus the per-request work any correct proxy must do.
    await startBunProxy(direct, 'bun-proxy-forwarding.ts', FORWARDING),
    // And with the hub's connection rule.
    await startBunProxy(direct, 'bun-proxy-forwarding.ts', PER_REQUEST, {
      POOL_PER_VISITOR: '1',
    }),
  ];
  const nginx = await startNginx(modulePort);
  if (nginx) targets.push(nginx);
  const caddy = await startCaddy(modulePort);
  if (caddy) targets.push(caddy);
  for (const t of targets) await check(t);

  const samples = new Map<string, Sample[]>();
  const key = (c: Case, t: Target) => `${c.name}|${t.name}`;
  for (const c of CASES) {
    for (const t of targets) await runWrk(t, c, WARMUP_SECONDS);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      // A new random order every round. In a rotating order each target
      // always ran right after the same neighbour: the hub after `direct`,
      // which here measured it at 0.74x the pool-per-connection row, against
      // 0.97x shuffled.
      for (const t of shuffled(targets)) {
        const s = await runWrk(t, c, SECONDS);
        samples.set(key(c, t), [...(samples.get(key(c, t)) ?? []), s]);
      }
    }
    console.log(`round ${round + 1}/${ROUNDS} done`);
  }

  // Medians over rounds, per case and target.
  const summary = (c: Case, name: string) => {
    const s = samples.get(`${c.name}|${name}`);
    if (!s) return undefined;
    const rps = s.map((x) => x.rps);
    return {
      rps: median(rps),
      min: Math.min(...rps),
      max: Math.max(...rps),
      cpuUs: median(s.map((x) => x.cpuUs)),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      errors: s.map((x) => x.errors).filter((e): e is string => e !== null),
    };
  };
  const rows: string[][] = [
    [
      'case',
      'target',
      'req/s',
      '(range)',
      'p50',
      'p99',
      'added p99',
      'proxy CPU/req',
      'x Bun proxy',
      'x Caddy',
      'x nginx',
    ],
  ];
  const errors: string[] = [];
  for (const c of CASES) {
    const base = summary(c, 'direct');
    for (const t of targets) {
      const s = summary(c, t.name);
      if (!s || !base) continue;
      for (const e of s.errors) errors.push(`${c.name} via ${t.name}: ${e}`);
      rows.push([
        c.name,
        t.name,
        kReqs(s.rps),
        `${kReqs(s.min)}-${kReqs(s.max)}`,
        ms(s.p50),
        ms(s.p99),
        t.name === 'direct' ? '' : ms(s.p99 - base.p99),
        Number.isFinite(s.cpuUs) ? `${s.cpuUs.toFixed(1)} us` : '',
        ratio(s.rps, summary(c, 'minimal Bun proxy')?.rps),
        ratio(s.rps, summary(c, 'Caddy')?.rps),
        ratio(s.rps, summary(c, 'nginx')?.rps),
      ]);
    }
  }
  console.log();
  table(rows);
  console.log();

  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  const byId = (id: string, target: string) => {
    const c = CASES.find((x) => x.id === id);
    return c ? summary(c, target) : undefined;
  };
  const small = { hub: byId('small', 'hub'), bun: byId('small', 'minimal Bun proxy') };
  const caddySmall = byId('small', 'Caddy');
  const fwd = byId('small', FORWARDING);
  if (small.hub && fwd) {
    const r = small.hub.rps / fwd.rps;
    console.log(
      `${verdict(r >= TARGET_VS_FORWARDING)}  hub >= ${TARGET_VS_FORWARDING}x ${FORWARDING} (small GET): ${r.toFixed(2)}x (${kReqs(small.hub.rps)} vs ${kReqs(fwd.rps)} req/s; proxy CPU ${small.hub.cpuUs.toFixed(1)} vs ${fwd.cpuUs.toFixed(1)} us/req)`,
    );
  }
  if (small.hub && caddySmall) {
    const r = small.hub.rps / caddySmall.rps;
    console.log(
      `${verdict(r >= TARGET_VS_CADDY)}  hub >= ${TARGET_VS_CADDY}x Caddy (small GET): ${r.toFixed(2)}x (${kReqs(small.hub.rps)} vs ${kReqs(caddySmall.rps)} req/s)`,
    );
  } else if (small.hub) {
    console.log('SKIP  hub >= 2x Caddy: Caddy was not measured');
  }
  const quiet = { hub: byId('latency', 'hub'), direct: byId('latency', 'direct') };
  if (quiet.hub && quiet.direct) {
    const added = quiet.hub.p99 - quiet.direct.p99;
    console.log(
      `${verdict(added < TARGET_ADDED_P99_MS)}  hub adds < ${TARGET_ADDED_P99_MS} ms to p99 (small GET, 1 connection): ${ms(added)} (${ms(quiet.direct.p99)} -> ${ms(quiet.hub.p99)})`,
    );
  }
  const loaded = { hub: small.hub, direct: byId('small', 'direct') };
  if (loaded.hub && loaded.direct) {
    const added = (name: string) => {
      const t = byId('small', name);
      return t && loaded.direct ? ms(t.p99 - loaded.direct.p99) : 'n/a';
    };
    console.log(
      `info  at ${CONNECTIONS} connections p99 is mostly queueing (about ${CONNECTIONS} / req/s): the hub adds ${added('hub')}, the minimal Bun proxy ${added('minimal Bun proxy')}, nginx ${added('nginx')}`,
    );
  }
  const vsNginx = CASES.filter((c) => c.id !== 'latency')
    .map((c) => {
      const hub = summary(c, 'hub');
      const ngx = summary(c, 'nginx');
      return hub && ngx ? `${c.name} ${(hub.rps / ngx.rps).toFixed(2)}x` : null;
    })
    .filter((x): x is string => x !== null);
  if (vsNginx.length > 0) console.log(`info  hub / nginx: ${vsNginx.join(', ')}`);
  const ngxSmall = byId('small', 'nginx');
  if (small.hub && small.bun && ngxSmall) {
    // Where the gap to nginx is, from CPU per request, and what would close each part.
    const floor = small.bun.cpuUs - ngxSmall.cpuUs;
    const own = small.hub.cpuUs - small.bun.cpuUs;
    console.log(
      `info  gap to nginx, proxy CPU per small GET: nginx ${ngxSmall.cpuUs.toFixed(1)} us, minimal Bun proxy +${floor.toFixed(1)} us, hub +${own.toFixed(1)} us more`,
    );
    console.log(
      "      the Bun floor: fetch runs on its own HTTP client thread, so each request crosses threads twice (eventfd writes, wake-ups; about 11 syscalls a request against nginx's 5, one thread) and builds JS Request/Response/Headers objects;",
    );
    console.log(
      "      the hub forwards with fetch too, on a pool per visitor connection (below), and pays for the forwarding work; what is left to nginx is JS objects per request and Bun's event loop, which only a native pass-through in Bun would remove.",
    );
  }
  const perRequest = byId('small', PER_REQUEST);
  if (small.bun && fwd) {
    console.log(
      `info  the forwarding work alone (small GET): ${FORWARDING} / minimal Bun proxy ${(fwd.rps / small.bun.rps).toFixed(2)}x (+${(fwd.cpuUs - small.bun.cpuUs).toFixed(1)} us/req of proxy CPU)`,
    );
  }
  if (fwd && perRequest) {
    console.log(
      `info  what a pool per client connection costs (small GET): ${PER_REQUEST} / ${FORWARDING} ${(perRequest.rps / fwd.rps).toFixed(2)}x (+${(perRequest.cpuUs - fwd.cpuUs).toFixed(1)} us/req of proxy CPU)`,
    );
  }
  if (small.hub && perRequest) {
    console.log(
      `info  the hub against the same work and connections done plainly (small GET): hub / that row ${(small.hub.rps / perRequest.rps).toFixed(2)}x (${(small.hub.cpuUs - perRequest.cpuUs).toFixed(1)} us/req of proxy CPU): its routing and bookkeeping`,
    );
  }
  for (const c of CASES.filter((x) => x.id === 'big' || x.id === 'upload')) {
    const hub = summary(c, 'hub');
    const bun = summary(c, 'minimal Bun proxy');
    const cad = summary(c, 'Caddy');
    if (!hub || !bun) continue;
    console.log(
      `info  ${c.name}: hub / minimal Bun proxy ${(hub.rps / bun.rps).toFixed(2)}x${cad ? `, hub / Caddy ${(hub.rps / cad.rps).toFixed(2)}x` : ''}`,
    );
  }
  for (const s of skipped) console.log(`skipped: ${s}`);
  for (const e of errors) console.log(`errors during a run (its numbers are suspect): ${e}`);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await cleanup();
}
