/**
 * A fake Fly.io Machines API on loopback, for `parachute deploy fly` tests
 * (issue 19; facts in ../shared/notes/fly-machines-api.md). Its machines
 * are real: a created machine runs the local binary its image maps to, so
 * health gates, imports and upgrades hit a real hub.
 *
 *   const fly = await startFakeFly({ image: { [ref]: 'dist/parachute' } });
 *   // FLY_API_HOSTNAME=fly.api, FLY_API_TOKEN=fly.token, PARACHUTE_FLY_EDGE=fly.edge
 *   fly.inject('machine.create', { kind: 'failAfter' });
 *   await fly.stop();
 *
 * Faithful (per the notes):
 * - /v1 endpoints for apps, ip_assignments, secrets, volumes, machines
 *   (create, get, list with `metadata.K=V`/`region`/`include_deleted`,
 *   update as a full config replace with a new instance_id, stop, start,
 *   delete, lease, wait) and a minimal certificates/acme (a certificate
 *   is `configured` certIssueMs after it is requested; GET and POST …/check show it); status codes
 *   201 app create, 202 app delete, 404 free name, 403 name in another org,
 *   422 name_taken, 409 lease held, 408 wait timeout, 401 bad token.
 * - Error bodies `{"error": "...", "status": "..."}` and a `fly-request-id`
 *   header on every answer.
 * - Auth: `Authorization: Bearer <token>`, `Bearer FlyV1 <token>` or
 *   `FlyV1 <token>`. `fly.token` is an org token (creates apps in its
 *   orgs) printed as the dashboard prints it (`FlyV1 fm2_…`);
 *   `fly.deployToken(app)` is app-scoped and gets 403 on app create.
 * - Leases: `fly-machine-lease-nonce` is required by update, stop, start
 *   and delete of a leased machine (409 otherwise); leases expire by ttl;
 *   the holder refreshes with its nonce. Create takes `lease_ttl`.
 * - wait?state=&timeout=&instance_id= (or version=) holds up to the
 *   timeout (capped at 60 s) and answers 408 after it.
 * - Secrets reach a machine's env at create/update only (as on Fly: a later
 *   change needs an update); `min_secrets_version` above the app's version
 *   is refused (422), since the fake's secrets propagate instantly.
 * - Rate limits (`rateLimit: true`) and latencies: fake-fly-limits.ts.
 * - Machines: env = the image's ENV (the Dockerfile's) + config.env + the
 *   app's secrets + FLY_APP_NAME, FLY_MACHINE_ID, FLY_REGION,
 *   FLY_IMAGE_REF, FLY_MACHINE_VERSION, FLY_PRIVATE_IP; every path under the
 *   mount (a temp folder per volume, kept across updates and restarts) or
 *   under /parachute (a per-boot "rootfs" folder, wiped at each boot like
 *   Fly's ephemeral root filesystem) is remapped; PORT becomes a free port
 *   (the service's internal_port maps to it) and PARACHUTE_BIND_HOST
 *   127.0.0.1. Argv: the mapped binary + config.init.cmd minus a leading
 *   "parachute" (the image CMD `serve` without init.cmd). config.files are
 *   written. States created → starting → started (once spawned) →
 *   stopping → stopped; update goes replacing → starting → started.
 *   Checks (config.checks and services[].checks, http or tcp) run every
 *   second against the process: `passing` on a 2xx, else `critical`
 *   (also before the first run). `started` only means the process was
 *   spawned, as on Fly it only means the VM booted: wait for the checks.
 *   Restart policy (default on-failure, max_retries 10): the process is
 *   started again in the same instance (same instance_id), on a fresh rootfs.
 * - The edge (fake-fly-edge.ts) plays https://NAME.fly.dev.
 *
 * Simplified or invented (not documented by Fly, or not worth it):
 * - Messages are plausible, not verbatim. Billing not set up: 422
 *   `We need your payment information to continue! Add a credit card or buy
 *   credit: https://fly.io/dashboard/ORG/billing` (the text flyctl users
 *   meet), status `unknown`, on app and machine create. Insufficient
 *   capacity: 422 `insufficient_capacity` on volume and machine create in a
 *   full region. An unmapped image: 422 `failed to get manifest`.
 * - Tests switch the world with fly.setBilling(org, bool),
 *   fly.setRegionFull(region, bool) and `takenNames` (apps of another org);
 *   fly.secrets(app), fly.volumes(app) and fly.machines() (state, env, pid,
 *   logs) show what the API did; fly.calls logs every request (method, path,
 *   step, status, ms; status 0 when dropped).
 * - Faults are queued per step, first in first out, each `times` times:
 *   fail / error / billing / capacity / nameTaken answer before doing the
 *   work, failAfter and lose after it, storm answers 429; on the pseudo-step
 *   'machine.boot', hang keeps the next boot `starting` and fail stops it.
 * - The edge answers 502 while a started machine's process is not yet
 *   listening (Fly's proxy would retry a little first).
 * - No volume snapshots, no suspend, no machine cordon/exec/metadata endpoints.
 * - One host: no zones, no placement; a machine mounting a volume must be
 *   in the volume's region (422 otherwise); a volume mounts on one machine.
 * - Check intervals and grace periods are ignored (every second); autostart
 *   and autostop are ignored; `current_version` is ignored.
 * - A restart after a crash waits no backoff.
 * - App delete answers 202 at once and stops the machines in the background.
 * - `lose` needs a socket the fake can drop, so the API is node:http (not
 *   Bun.serve, which cannot drop a connection without an answer): the
 *   client sees the connection reset with no status (Bun fetch:
 *   "ECONNRESET: The socket connection was closed unexpectedly").
 * - Machine processes never outlive the fake: each leads its own process
 *   group and its descendants are tracked (fake-fly-vm.ts); stop() and the
 *   test process's exit kill them all. A SIGKILLed test runner cannot.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../bench/lib.ts';
import { startEdge } from './fake-fly-edge.ts';
import {
  Buckets,
  FLY_RATE_LIMITS,
  latencyOf,
  type RateLimits,
  REALISTIC_BOOT_MS,
  REALISTIC_CERT_MS,
} from './fake-fly-limits.ts';
import { Vm } from './fake-fly-vm.ts';

export { REALISTIC_BOOT_MS, REALISTIC_LATENCY_MS } from './fake-fly-limits.ts';

/** The image's ENV, as the Dockerfile sets it. */
export const IMAGE_ENV: Record<string, string> = {
  PARACHUTE_HOME: '/parachute',
  PARACHUTE_IMAGE: '1',
  PARACHUTE_BIND_HOST: '0.0.0.0',
  PORT: '1939',
  TMPDIR: '/parachute/tmp',
  BUN_INSTALL_CACHE_DIR: '/parachute/cache/bun',
  HOME: '/parachute',
  PATH: '/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:/parachute/bin',
};
const IMAGE_CMD = ['parachute', 'serve'];
const WORKDIR = '/parachute';

const REGIONS = new Set(
  'ams arn atl bog bom bos cdg den dfw ewr eze fra gdl gig gru hkg iad jnb lax lhr mad mia nrt ord otp phx qro scl sea sin sjc syd waw yul yyz'.split(
    ' ',
  ),
);

/** Steps a fault can be injected into (the API's actions, plus a machine's boot). */
export type Step =
  | 'app.get'
  | 'app.list'
  | 'app.create'
  | 'app.delete'
  | 'ip.list'
  | 'ip.assign'
  | 'ip.delete'
  | 'secrets.list'
  | 'secrets.set'
  | 'secret.set'
  | 'secret.delete'
  | 'volume.list'
  | 'volume.create'
  | 'volume.get'
  | 'volume.delete'
  | 'machine.list'
  | 'machine.create'
  | 'machine.get'
  | 'machine.update'
  | 'machine.start'
  | 'machine.stop'
  | 'machine.delete'
  | 'machine.wait'
  | 'lease'
  | 'lease.get'
  | 'lease.release'
  | 'cert.create'
  | 'cert.get'
  | 'cert.check'
  /** Not an endpoint: the next boot of any machine (`hang` keeps it `starting`, `fail` stops it). */
  | 'machine.boot';

export type Fault = { times?: number } & (
  | { kind: 'fail'; status?: number } // a 5xx before doing anything
  | { kind: 'failAfter'; status?: number } // does it, then a 5xx
  | { kind: 'lose' } // does it, then drops the connection with no answer
  | { kind: 'storm' } // 429 (times = how many)
  | { kind: 'error'; status: number; error: string; code?: string } // any error answer, before
  | { kind: 'billing' } // the 422 of an org without billing
  | { kind: 'capacity' } // 422 insufficient_capacity
  | { kind: 'nameTaken' } // 422 name_taken
  | { kind: 'hang' } // machine.boot: never reaches started
);

export interface Call {
  method: string;
  path: string;
  step: string;
  /** 0 when the connection was dropped (`lose`). */
  status: number;
  ms: number;
}

export interface FakeFlyOptions {
  /** Image reference → local binary (or argv prefix, e.g. [bun, script.ts]). */
  image: Record<string, string | string[]>;
  /** Orgs the main token can use; default [{ slug: 'personal' }]. `billing: false` → 422 on create. */
  orgs?: { slug: string; name?: string; billing?: boolean }[];
  /** App names owned by an org no token here can see (403 on GET, 422 name_taken on create). */
  takenNames?: string[];
  /** Regions out of capacity (volume and machine create answer 422 insufficient_capacity). */
  fullRegions?: string[];
  /** Per call: a number for every call, 'realistic', or per step ('read' for GETs). */
  latencyMs?: number | 'realistic' | Record<string, number>;
  /** How long a machine stays `starting` before its process runs; default 0, or REALISTIC_BOOT_MS with latencyMs 'realistic'. */
  bootMs?: number;
  /** Off by default; true for Fly's documented limits. */
  rateLimit?: boolean | RateLimits;
  /** How often checks run; default 1000. */
  checkEveryMs?: number;
  /** How long after its request an ACME certificate is `configured`; default 0, or REALISTIC_CERT_MS with latencyMs 'realistic'. */
  certIssueMs?: number;
}

class FlyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'unknown',
  ) {
    super(message);
  }
}

type Auth = { kind: 'org'; orgs: string[] } | { kind: 'app'; app: string; org: string };
type Lease = {
  nonce: string;
  expiresAt: number;
  owner: string;
  version: string;
  description: string;
};
type CheckResult = {
  name: string;
  status: 'passing' | 'warning' | 'critical';
  output: string;
  updated_at: string;
};
// biome-ignore lint/suspicious/noExplicitAny: machine configs are free-form JSON, as on Fly
type Json = any;

interface Volume {
  id: string;
  name: string;
  region: string;
  zone: string;
  size_gb: number;
  encrypted: boolean;
  snapshot_retention: number;
  auto_backup_enabled: boolean;
  created_at: string;
  attachedMachine: string | null;
  dir: string;
}

interface Machine {
  id: string;
  name: string;
  app: App;
  region: string;
  config: Json;
  instanceId: string;
  state: string;
  createdAt: string;
  updatedAt: string;
  events: { id: string; type: string; status: string; source: string; timestamp: number }[];
  checks: Map<string, CheckResult>;
  lease: Lease | null;
  secrets: Record<string, string>;
  vm: Vm | null;
  guestPort: number;
  hostPort: number;
  env: Record<string, string>;
  rootfs: string;
  generation: number;
  restarts: number;
  checker: ReturnType<typeof setInterval> | null;
  listeners: Set<() => void>;
}

interface App {
  id: string;
  name: string;
  org: string;
  createdAt: string;
  ips: Json[];
  secrets: Map<string, { value: string; created_at: string; updated_at: string }>;
  secretsVersion: number;
  volumes: Map<string, Volume>;
  machines: Map<string, Machine>;
  certificates: Map<string, Json>;
}

interface Ctx {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json;
  auth: Auth;
  nonce: string | null;
}
type Answer = { status: number; body?: unknown };
type Route = {
  method: string;
  pattern: RegExp;
  step: Step;
  handle: (ctx: Ctx) => Promise<Answer> | Answer;
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const now = () => new Date().toISOString();
const sleep = (ms: number) => (ms > 0 ? Bun.sleep(ms) : Promise.resolve());
/** A ULID-looking id (Fly's instance ids and lease versions). */
const ulid = () =>
  `01${Array.from(randomBytes(24), (b) => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[b % 32]).join('')}`;

/** "10s", "500ms", "1m" or a number of seconds → milliseconds. */
function durationMs(value: unknown, fallback: number): number {
  if (typeof value === 'number') return value * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(value ?? ''));
  if (!m) return fallback;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function imageRef(ref: string) {
  const [name = '', tag = 'latest'] = ref.split('@')[0]?.split(':') ?? [];
  const slash = name.indexOf('/');
  const registry =
    slash > 0 && name.slice(0, slash).includes('.') ? name.slice(0, slash) : 'docker.io';
  return {
    registry,
    repository: registry === 'docker.io' ? name : name.slice(slash + 1),
    tag,
    digest: `sha256:${createHash('sha256').update(ref).digest('hex')}`,
    labels: {},
  };
}

export async function startFakeFly(options: FakeFlyOptions) {
  const orgs = new Map(
    (options.orgs ?? [{ slug: 'personal' }]).map((o) => [
      o.slug,
      { slug: o.slug, name: o.name ?? o.slug, billing: o.billing ?? true },
    ]),
  );
  const tokens = new Map<string, Auth>();
  const mint = (auth: Auth) => {
    const secret = `fm2_${randomBytes(48).toString('base64')}`;
    tokens.set(secret, auth);
    return `FlyV1 ${secret}`;
  };
  const token = mint({ kind: 'org', orgs: [...orgs.keys()] });
  const apps = new Map<string, App>();
  const fullRegions = new Set(options.fullRegions ?? []);
  const faults = new Map<string, Fault[]>();
  const calls: Call[] = [];
  const buckets =
    options.rateLimit === true
      ? new Buckets(FLY_RATE_LIMITS)
      : options.rateLimit
        ? new Buckets(options.rateLimit)
        : null;
  const checkEveryMs = options.checkEveryMs ?? 1000;
  const tempDirs: string[] = [];
  /** Set by stop(): no machine boots after it. */
  let closed = false;
  const background = new Set<Promise<unknown>>();
  const allVms = new Set<Vm>();
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    tempDirs.push(dir);
    return dir;
  };

  const newApp = (name: string, org: string): App => ({
    id: hex(8),
    name,
    org,
    createdAt: now(),
    ips: [],
    secrets: new Map(),
    secretsVersion: 0,
    volumes: new Map(),
    machines: new Map(),
    certificates: new Map(),
  });
  for (const name of options.takenNames ?? []) apps.set(name, newApp(name, 'someone-else'));

  // ----- faults ---------------------------------------------------------

  function inject(step: Step, fault: Fault): void {
    const list = faults.get(step) ?? [];
    list.push({ ...fault, times: fault.times ?? 1 });
    faults.set(step, list);
  }
  /** The next fault for `step` among `kinds`, used up by one. */
  function takeFault(step: string, kinds: Fault['kind'][]): Fault | null {
    const list = faults.get(step);
    const fault = list?.[0];
    if (!list || !fault || !kinds.includes(fault.kind)) return null;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) list.shift();
    return fault;
  }
  function faultError(fault: Fault, app?: string, org?: string): FlyError {
    switch (fault.kind) {
      case 'fail':
      case 'failAfter':
        return new FlyError(fault.status ?? 500, 'internal server error', 'unknown');
      case 'storm':
        return new FlyError(429, 'rate limit exceeded', 'rate_limited');
      case 'billing':
        return billingError(org ?? 'personal');
      case 'capacity':
        return capacityError('this region');
      case 'nameTaken':
        return nameTaken(app ?? 'this app');
      case 'error':
        return new FlyError(fault.status, fault.error, fault.code);
      default:
        return new FlyError(500, 'internal server error');
    }
  }
  const billingError = (org: string) =>
    new FlyError(
      422,
      `We need your payment information to continue! Add a credit card or buy credit: https://fly.io/dashboard/${org}/billing`,
    );
  const capacityError = (region: string) =>
    new FlyError(
      422,
      `insufficient resources available to fulfill request in region ${region}: try another region`,
      'insufficient_capacity',
    );
  const nameTaken = (name: string) =>
    new FlyError(422, `Name has already been taken: an app named "${name}" exists`, 'name_taken');

  // ----- access -----------------------------------------------------------

  function authOf(header: string | undefined): Auth | null {
    if (!header) return null;
    const value = header
      .replace(/^Bearer\s+/i, '')
      .replace(/^FlyV1\s+/, '')
      .trim();
    return tokens.get(value) ?? null;
  }
  function appFor(ctx: Ctx): App {
    const app = apps.get(ctx.params.app as string);
    if (!app) throw new FlyError(404, `app not found: ${ctx.params.app}`, 'not_found');
    const allowed =
      ctx.auth.kind === 'org' ? ctx.auth.orgs.includes(app.org) : ctx.auth.app === app.name;
    if (!allowed)
      throw new FlyError(403, 'unauthorized: this token cannot access that app', 'unauthorized');
    return app;
  }
  function machineFor(ctx: Ctx): Machine {
    const app = appFor(ctx);
    const m = app.machines.get(ctx.params.machine as string);
    if (!m) throw new FlyError(404, `machine not found: ${ctx.params.machine}`, 'not_found');
    return m;
  }
  function activeLease(m: Machine): Lease | null {
    if (m.lease && m.lease.expiresAt <= Date.now()) m.lease = null;
    return m.lease;
  }
  function requireLease(m: Machine, nonce: string | null): void {
    const lease = activeLease(m);
    if (lease && lease.nonce !== nonce)
      throw new FlyError(
        409,
        `machine ${m.id} is leased by ${lease.owner} until ${new Date(lease.expiresAt).toISOString()}: send its nonce in fly-machine-lease-nonce`,
        'lease_held',
      );
  }

  // ----- machines -----------------------------------------------------------

  function setState(m: Machine, state: string, event?: { type: string; status: string }): void {
    m.state = state;
    m.updatedAt = now();
    if (event) m.events.unshift({ id: ulid(), ...event, source: 'flyd', timestamp: Date.now() });
    for (const wake of [...m.listeners]) wake();
  }

  function checksOf(config: Json): [string, Json][] {
    const list: [string, Json][] = Object.entries(config.checks ?? {});
    for (const service of config.services ?? [])
      for (const [i, check] of (service.checks ?? []).entries())
        list.push([
          `servicecheck-${String(i).padStart(2, '0')}-${check.type ?? 'http'}-${service.internal_port}`,
          { port: service.internal_port, ...check },
        ]);
    return list;
  }

  function resetChecks(m: Machine): void {
    m.checks = new Map(
      checksOf(m.config).map(([name]) => [
        name,
        { name, status: 'critical', output: 'the check has not run yet', updated_at: now() },
      ]),
    );
  }

  async function runCheck(m: Machine, name: string, check: Json): Promise<void> {
    const port = Number(check.port ?? m.guestPort) === m.guestPort ? m.hostPort : 0;
    const timeout = Math.min(durationMs(check.timeout, 2000), checkEveryMs * 5);
    let status: CheckResult['status'] = 'critical';
    let output: string;
    try {
      if (!port) throw new Error(`nothing listens on port ${check.port}`);
      if (check.type === 'tcp') {
        await new Promise<void>((resolve, reject) => {
          Bun.connect({
            hostname: '127.0.0.1',
            port,
            socket: {
              open: (s) => {
                s.end();
                resolve();
              },
              data() {},
              error: (_s, e) => reject(e),
              connectError: (_s, e) => reject(e),
            },
          }).catch(reject);
        });
        status = 'passing';
        output = 'Success';
      } else {
        const res = await fetch(`http://127.0.0.1:${port}${check.path ?? '/'}`, {
          method: check.method ?? 'GET',
          signal: AbortSignal.timeout(timeout),
          redirect: 'manual',
        });
        await res.arrayBuffer();
        status = res.status >= 200 && res.status < 300 ? 'passing' : 'critical';
        output = `${res.status} ${res.statusText}`;
      }
    } catch (error) {
      output = String(error instanceof Error ? error.message : error);
    }
    if (m.vm && m.checks.has(name)) m.checks.set(name, { name, status, output, updated_at: now() });
  }

  function startChecks(m: Machine): void {
    stopChecks(m);
    const tick = () => {
      for (const [name, check] of checksOf(m.config)) void runCheck(m, name, check);
    };
    tick();
    m.checker = setInterval(tick, checkEveryMs);
  }
  function stopChecks(m: Machine): void {
    if (m.checker) clearInterval(m.checker);
    m.checker = null;
  }

  /** Paths in the image → folders here: the mount's volume, else the per-boot rootfs. */
  function mapper(m: Machine): (path: string) => string {
    const mount = m.config.mounts?.[0];
    const volume = mount ? m.app.volumes.get(mount.volume) : undefined;
    return (path) => {
      if (volume && (path === mount.path || path.startsWith(`${mount.path}/`)))
        return volume.dir + path.slice(mount.path.length);
      if (path === '/parachute' || path.startsWith('/parachute/')) return m.rootfs + path;
      return path;
    };
  }

  function machineEnv(m: Machine): Record<string, string> {
    const map = mapper(m);
    const env: Record<string, string> = {
      ...IMAGE_ENV,
      ...(m.config.env ?? {}),
      ...m.secrets,
      FLY_APP_NAME: m.app.name,
      FLY_MACHINE_ID: m.id,
      FLY_ALLOC_ID: m.id,
      FLY_REGION: m.region,
      FLY_IMAGE_REF: m.config.image,
      FLY_MACHINE_VERSION: m.instanceId,
      FLY_PRIVATE_IP: `fdaa:0:1:a7b:${m.id.slice(0, 4)}::2`,
    };
    for (const [key, value] of Object.entries(env))
      if (value.startsWith('/')) env[key] = value.split(':').map(map).join(':');
    m.guestPort = Number(env.PORT);
    m.hostPort = freePort();
    env.PORT = String(m.hostPort);
    env.PARACHUTE_BIND_HOST = '127.0.0.1';
    return env;
  }

  function argvOf(m: Machine): string[] {
    const target = options.image[m.config.image] as string | string[];
    const cmd: string[] = m.config.init?.cmd ?? IMAGE_CMD;
    const args = /(^|\/)parachute$/.test(cmd[0] ?? '') ? cmd.slice(1) : cmd;
    return [...(Array.isArray(target) ? target : [target]), ...args];
  }

  async function boot(m: Machine): Promise<void> {
    const generation = ++m.generation;
    resetChecks(m);
    setState(m, 'starting', { type: 'start', status: 'pending' });
    const fault = takeFault('machine.boot', ['hang', 'fail']);
    await sleep(options.bootMs ?? (options.latencyMs === 'realistic' ? REALISTIC_BOOT_MS : 0));
    if (closed || generation !== m.generation || fault?.kind === 'hang') return;
    if (fault) {
      setState(m, 'stopped', { type: 'exit', status: 'failed' });
      return;
    }
    // A fresh root filesystem each boot, as Fly's.
    rmSync(m.rootfs, { recursive: true, force: true });
    mkdirSync(join(m.rootfs, 'parachute'), { recursive: true });
    const map = mapper(m);
    m.env = machineEnv(m);
    for (const file of m.config.files ?? []) {
      const path = map(file.guest_path);
      const target = path === file.guest_path ? join(m.rootfs, path) : path;
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(
        target,
        file.secret_name
          ? (m.secrets[file.secret_name] ?? '')
          : Buffer.from(file.raw_value ?? '', 'base64'),
      );
    }
    const vm = new Vm({
      argv: argvOf(m),
      env: m.env,
      cwd: map(WORKDIR),
      logFile: join(m.rootfs, '..', `${m.id}.log`),
    });
    allVms.add(vm);
    m.vm = vm;
    setState(m, 'started', { type: 'start', status: 'started' });
    startChecks(m);
    void vm.exited.then((code) => {
      allVms.delete(vm);
      if (generation !== m.generation) return; // stopped or replaced on purpose
      m.vm = null;
      stopChecks(m);
      setState(m, 'stopped', { type: 'exit', status: code === 0 ? 'stopped' : 'failed' });
      const policy = m.config.restart?.policy ?? 'on-failure';
      const retries = m.config.restart?.max_retries ?? 10;
      const again =
        policy === 'always' || (policy === 'on-failure' && code !== 0 && m.restarts < retries);
      if (again && !closed) {
        m.restarts += 1;
        track(boot(m));
      }
    });
  }

  /** Stops the machine's process (Fly's stop), leaving it `stopped` (or `then`). */
  async function halt(
    m: Machine,
    how: { signal?: string; timeoutMs?: number; state?: string } = {},
  ) {
    m.generation += 1;
    const vm = m.vm;
    stopChecks(m);
    setState(m, how.state ?? 'stopping', { type: 'stop', status: 'pending' });
    if (vm) {
      const signal = (how.signal ?? m.config.stop_config?.signal ?? 'SIGINT') as NodeJS.Signals;
      await vm.stop(signal, how.timeoutMs ?? durationMs(m.config.stop_config?.timeout, 5000));
    }
    m.vm = null;
    if (how.state === undefined) setState(m, 'stopped', { type: 'exit', status: 'stopped' });
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    background.add(promise);
    void promise.finally(() => background.delete(promise));
    return promise;
  }

  async function destroy(m: Machine): Promise<void> {
    m.lease = null;
    await halt(m, { signal: 'SIGKILL', timeoutMs: 1000, state: 'destroying' });
    for (const v of m.app.volumes.values())
      if (v.attachedMachine === m.id) v.attachedMachine = null;
    rmSync(m.rootfs, { recursive: true, force: true });
    setState(m, 'destroyed', { type: 'destroy', status: 'destroyed' });
  }

  function machineJson(m: Machine, extra: Record<string, unknown> = {}) {
    return {
      id: m.id,
      name: m.name,
      state: m.state,
      region: m.region,
      instance_id: m.instanceId,
      private_ip: `fdaa:0:1:a7b:${m.id.slice(0, 4)}::2`,
      config: m.config,
      image_ref: imageRef(m.config.image),
      created_at: m.createdAt,
      updated_at: m.updatedAt,
      events: m.events.slice(0, 20),
      checks: [...m.checks.values()],
      host_status: 'ok',
      ...extra,
    };
  }

  /** Validates a machine config for `app`; returns the volume it mounts, if any. */
  function checkConfig(
    app: App,
    config: Json,
    region: string,
    machineId?: string,
  ): Volume | undefined {
    if (!config || typeof config !== 'object')
      throw new FlyError(400, 'config is required', 'invalid_config');
    if (typeof config.image !== 'string' || !config.image)
      throw new FlyError(400, 'invalid config: image is required', 'invalid_config');
    if (!(config.image in options.image))
      throw new FlyError(
        422,
        `failed to get manifest ${config.image}: manifest unknown`,
        'unknown',
      );
    if ((config.mounts ?? []).length > 1)
      throw new FlyError(400, 'a machine can mount at most one volume', 'invalid_config');
    const mount = config.mounts?.[0];
    if (!mount) return undefined;
    const volume = app.volumes.get(mount.volume);
    if (!volume) throw new FlyError(404, `volume not found: ${mount.volume}`, 'not_found');
    if (typeof mount.path !== 'string' || !mount.path.startsWith('/'))
      throw new FlyError(
        400,
        'invalid config: mounts[0].path must be an absolute path',
        'invalid_config',
      );
    if (volume.attachedMachine && volume.attachedMachine !== machineId)
      throw new FlyError(
        422,
        `volume ${volume.id} is already attached to machine ${volume.attachedMachine}`,
      );
    if (volume.region !== region)
      throw new FlyError(422, `volume ${volume.id} is in region ${volume.region}, not ${region}`);
    return volume;
  }

  function secretsFor(app: App, min: unknown): Record<string, string> {
    if (min !== undefined && min !== null && Number(min) > app.secretsVersion)
      throw new FlyError(
        422,
        `secrets version ${min} not found (the app's secrets are at version ${app.secretsVersion})`,
      );
    return Object.fromEntries([...app.secrets].map(([k, v]) => [k, v.value]));
  }

  // ----- routes -------------------------------------------------------------

  const A = '/v1/apps/(?<app>[^/]+)';
  const M = `${A}/machines/(?<machine>[^/]+)`;
  const route = (method: string, path: string, step: Step, handle: Route['handle']): Route => ({
    method,
    pattern: new RegExp(`^${path}$`),
    step,
    handle,
  });

  const secretsList = (app: App, values: boolean) =>
    [...app.secrets].map(([name, s]) => ({
      name,
      digest: createHash('sha256').update(s.value).digest('hex').slice(0, 16),
      created_at: s.created_at,
      updated_at: s.updated_at,
      ...(values ? { value: s.value } : {}),
    }));

  const routes: Route[] = [
    route('GET', '/v1/apps', 'app.list', (ctx) => {
      const org =
        ctx.query.get('org_slug') ?? (ctx.auth.kind === 'org' ? ctx.auth.orgs[0] : ctx.auth.org);
      const list = [...apps.values()].filter(
        (a) =>
          a.org === org &&
          (ctx.auth.kind === 'org' ? ctx.auth.orgs.includes(org ?? '') : ctx.auth.app === a.name),
      );
      return {
        status: 200,
        body: {
          total_apps: list.length,
          apps: list.map((a) => ({
            id: a.id,
            name: a.name,
            machine_count: [...a.machines.values()].filter((m) => m.state !== 'destroyed').length,
            volume_count: a.volumes.size,
            network: 'default',
          })),
        },
      };
    }),
    route('POST', '/v1/apps', 'app.create', (ctx) => {
      const name = ctx.body?.app_name ?? ctx.body?.name;
      const slug = ctx.body?.org_slug;
      if (ctx.auth.kind === 'app')
        throw new FlyError(
          403,
          `unauthorized: the token is scoped to app ${ctx.auth.app} and cannot create apps`,
          'unauthorized',
        );
      if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name))
        throw new FlyError(
          422,
          'App name can only contain lowercase letters, numbers, and dashes (3 to 63 characters)',
          'invalid_name',
        );
      if (typeof slug !== 'string' || !orgs.has(slug) || !ctx.auth.orgs.includes(slug))
        throw new FlyError(404, `organization not found: ${slug}`, 'not_found');
      if (apps.has(name)) throw nameTaken(name);
      if (!orgs.get(slug)?.billing) throw billingError(slug);
      const app = newApp(name, slug);
      apps.set(name, app);
      return { status: 201, body: { id: app.id, created_at: Date.parse(app.createdAt) } };
    }),
    route('GET', A, 'app.get', (ctx) => {
      const app = appFor(ctx);
      const org = orgs.get(app.org);
      return {
        status: 200,
        body: {
          id: app.id,
          name: app.name,
          status: [...app.machines.values()].some((m) => m.state === 'started')
            ? 'deployed'
            : 'pending',
          organization: { name: org?.name, slug: app.org },
          network: 'default',
          machine_count: [...app.machines.values()].filter((m) => m.state !== 'destroyed').length,
          volume_count: app.volumes.size,
        },
      };
    }),
    route('DELETE', A, 'app.delete', (ctx) => {
      const app = appFor(ctx);
      apps.delete(app.name);
      track(
        (async () => {
          await Promise.all(
            [...app.machines.values()].filter((m) => m.state !== 'destroyed').map(destroy),
          );
          for (const v of app.volumes.values()) rmSync(v.dir, { recursive: true, force: true });
          app.volumes.clear();
        })(),
      );
      return { status: 202 };
    }),

    route('GET', `${A}/ip_assignments`, 'ip.list', (ctx) => ({
      status: 200,
      body: { ips: appFor(ctx).ips },
    })),
    route('POST', `${A}/ip_assignments`, 'ip.assign', (ctx) => {
      const app = appFor(ctx);
      const type = ctx.body?.type;
      const types = [
        'v4',
        'shared_v4',
        'v6',
        'private_v6',
        'egress_v4',
        'egress_v6',
        'egress_pair',
      ];
      if (!types.includes(type))
        throw new FlyError(400, `invalid ip type: ${type}`, 'invalid_request');
      const existing = app.ips.find((ip) => ip.type === 'shared_v4');
      if (type === 'shared_v4' && existing) return { status: 200, body: existing };
      const n = () => randomBytes(1)[0];
      const ip = {
        ip: type.endsWith('v4') ? `66.241.${n()}.${n()}` : `2a09:8280:1::${hex(2)}:${hex(2)}`,
        type,
        region: ctx.body?.region ?? 'global',
        service_name: ctx.body?.service_name ?? '',
        shared: type === 'shared_v4',
        created_at: now(),
      };
      app.ips.push(ip);
      return { status: 200, body: ip };
    }),
    route('DELETE', `${A}/ip_assignments/(?<ip>[^/]+)`, 'ip.delete', (ctx) => {
      const app = appFor(ctx);
      const ip = decodeURIComponent(ctx.params.ip as string);
      if (!app.ips.some((i) => i.ip === ip))
        throw new FlyError(404, `ip not found: ${ip}`, 'not_found');
      app.ips = app.ips.filter((i) => i.ip !== ip);
      return { status: 204 };
    }),

    route('GET', `${A}/secrets`, 'secrets.list', (ctx) => ({
      status: 200,
      body: { secrets: secretsList(appFor(ctx), ctx.query.get('show_secrets') === 'true') },
    })),
    route('POST', `${A}/secrets`, 'secrets.set', (ctx) => {
      const app = appFor(ctx);
      const values = ctx.body?.values;
      if (!values || typeof values !== 'object')
        throw new FlyError(
          400,
          'values is required: {"values": {"NAME": "value" | null}}',
          'invalid_request',
        );
      for (const [name, value] of Object.entries(values)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
          throw new FlyError(400, `invalid secret name: ${name}`, 'invalid_request');
        if (value !== null && typeof value !== 'string')
          throw new FlyError(
            400,
            `secret ${name}: the value must be a string or null`,
            'invalid_request',
          );
      }
      for (const [name, value] of Object.entries(values)) {
        const at = now();
        if (value === null) app.secrets.delete(name);
        else
          app.secrets.set(name, {
            value: value as string,
            created_at: app.secrets.get(name)?.created_at ?? at,
            updated_at: at,
          });
      }
      app.secretsVersion += 1;
      return {
        status: 200,
        body: { secrets: secretsList(app, false), version: app.secretsVersion },
      };
    }),
    route('POST', `${A}/secrets/(?<name>[^/]+)`, 'secret.set', (ctx) => {
      const app = appFor(ctx);
      if (typeof ctx.body?.value !== 'string')
        throw new FlyError(400, 'value is required', 'invalid_request');
      const at = now();
      app.secrets.set(ctx.params.name as string, {
        value: ctx.body.value,
        created_at: at,
        updated_at: at,
      });
      app.secretsVersion += 1;
      return { status: 200, body: { version: app.secretsVersion } };
    }),
    route('DELETE', `${A}/secrets/(?<name>[^/]+)`, 'secret.delete', (ctx) => {
      const app = appFor(ctx);
      app.secrets.delete(ctx.params.name as string);
      app.secretsVersion += 1;
      return { status: 200, body: { version: app.secretsVersion } };
    }),

    route('GET', `${A}/volumes`, 'volume.list', (ctx) => ({
      status: 200,
      body: [...appFor(ctx).volumes.values()].map(volumeJson),
    })),
    route('POST', `${A}/volumes`, 'volume.create', (ctx) => {
      const app = appFor(ctx);
      const b = ctx.body ?? {};
      if (typeof b.name !== 'string' || !/^[a-z0-9_]{1,30}$/.test(b.name))
        throw new FlyError(
          400,
          'volume name must be 1 to 30 lowercase letters, numbers or underscores',
          'invalid_request',
        );
      if (!REGIONS.has(b.region))
        throw new FlyError(400, `unknown region: ${b.region}`, 'invalid_request');
      if (fullRegions.has(b.region)) throw capacityError(b.region);
      const volume: Volume = {
        id: `vol_${Array.from(randomBytes(16), (x) => 'abcdefghijklmnopqrstuvwxyz0123456789'[x % 36]).join('')}`,
        name: b.name,
        region: b.region,
        zone: hex(2),
        size_gb: b.size_gb ?? 3,
        encrypted: b.encrypted ?? true,
        snapshot_retention: b.snapshot_retention ?? 5,
        auto_backup_enabled: b.auto_backup_enabled ?? true,
        created_at: now(),
        attachedMachine: null,
        dir: tempDir('fake-fly-vol-'),
      };
      app.volumes.set(volume.id, volume);
      return { status: 200, body: volumeJson(volume) };
    }),
    route('GET', `${A}/volumes/(?<volume>[^/]+)`, 'volume.get', (ctx) => ({
      status: 200,
      body: volumeJson(volumeFor(ctx)),
    })),
    route('DELETE', `${A}/volumes/(?<volume>[^/]+)`, 'volume.delete', (ctx) => {
      const volume = volumeFor(ctx);
      if (volume.attachedMachine)
        throw new FlyError(
          422,
          `volume ${volume.id} is attached to machine ${volume.attachedMachine}: destroy the machine first`,
        );
      appFor(ctx).volumes.delete(volume.id);
      rmSync(volume.dir, { recursive: true, force: true });
      return { status: 200, body: { ...volumeJson(volume), state: 'destroyed' } };
    }),

    route('GET', `${A}/machines`, 'machine.list', (ctx) => {
      const filters = [...ctx.query].filter(([k]) => k.startsWith('metadata.'));
      const region = ctx.query.get('region');
      const deleted = ctx.query.get('include_deleted') === 'true';
      const list = [...appFor(ctx).machines.values()].filter(
        (m) =>
          (deleted || m.state !== 'destroyed') &&
          (!region || m.region === region) &&
          filters.every(([k, v]) => m.config.metadata?.[k.slice('metadata.'.length)] === v),
      );
      return { status: 200, body: list.map((m) => machineJson(m)) };
    }),
    route('POST', `${A}/machines`, 'machine.create', (ctx) => {
      const app = appFor(ctx);
      const b = ctx.body ?? {};
      const config = b.config;
      const mountId = config?.mounts?.[0]?.volume;
      const region = b.region ?? app.volumes.get(mountId)?.region ?? 'iad';
      if (!REGIONS.has(region))
        throw new FlyError(400, `unknown region: ${region}`, 'invalid_request');
      const volume = checkConfig(app, config, region);
      if (!orgs.get(app.org)?.billing) throw billingError(app.org);
      if (fullRegions.has(region)) throw capacityError(region);
      const secrets = secretsFor(app, b.min_secrets_version);
      const id = hex(7);
      const m: Machine = {
        id,
        name: typeof b.name === 'string' && b.name ? b.name : `machine-${id.slice(0, 6)}`,
        app,
        region,
        config,
        instanceId: ulid(),
        state: 'created',
        createdAt: now(),
        updatedAt: now(),
        events: [
          { id: ulid(), type: 'launch', status: 'created', source: 'user', timestamp: Date.now() },
        ],
        checks: new Map(),
        lease: null,
        secrets,
        vm: null,
        guestPort: 0,
        hostPort: 0,
        env: {},
        rootfs: join(tempDir('fake-fly-machine-'), 'rootfs'),
        generation: 0,
        restarts: 0,
        checker: null,
        listeners: new Set(),
      };
      resetChecks(m);
      app.machines.set(id, m);
      if (volume) volume.attachedMachine = id;
      const extra: Record<string, unknown> = {};
      if (b.lease_ttl) {
        m.lease = newLease(Number(b.lease_ttl), '');
        extra.nonce = m.lease.nonce;
      }
      const answer = machineJson(m, extra);
      if (!b.skip_launch) track(boot(m));
      return { status: 200, body: answer };
    }),
    route('GET', M, 'machine.get', (ctx) => ({ status: 200, body: machineJson(machineFor(ctx)) })),
    route('POST', M, 'machine.update', (ctx) => {
      const m = machineFor(ctx);
      requireLease(m, ctx.nonce);
      if (m.state === 'destroyed' || m.state === 'destroying')
        throw new FlyError(404, `machine not found: ${m.id}`, 'not_found');
      const b = ctx.body ?? {};
      if (b.region && b.region !== m.region)
        throw new FlyError(400, 'a machine cannot change region', 'invalid_request');
      if (b.name && b.name !== m.name)
        throw new FlyError(400, 'a machine cannot change name', 'invalid_request');
      const before = m.config.mounts?.[0]?.volume;
      if (before && b.config?.mounts?.[0]?.volume !== before)
        throw new FlyError(
          400,
          `the volume of a machine cannot change through an update (mounts ${before})`,
          'invalid_config',
        );
      checkConfig(m.app, b.config, m.region, m.id);
      const secrets = secretsFor(m.app, b.min_secrets_version);
      const wasRunning = m.vm !== null || m.state === 'starting';
      m.config = b.config;
      m.secrets = secrets;
      m.instanceId = ulid();
      m.restarts = 0;
      setState(m, m.state, { type: 'update', status: 'completed' });
      const answer = machineJson(m, { state: b.skip_launch ? m.state : 'replacing' });
      track(
        (async () => {
          await halt(m, { state: wasRunning ? 'replacing' : m.state });
          if (b.skip_launch) setState(m, 'stopped');
          else await boot(m);
        })(),
      );
      return { status: 200, body: answer };
    }),
    route('POST', `${M}/stop`, 'machine.stop', (ctx) => {
      const m = machineFor(ctx);
      requireLease(m, ctx.nonce);
      if (m.state === 'destroyed')
        throw new FlyError(404, `machine not found: ${m.id}`, 'not_found');
      if (m.state === 'stopped' || m.state === 'created')
        return { status: 200, body: { ok: true } };
      track(
        halt(m, {
          signal: ctx.body?.signal,
          timeoutMs: ctx.body?.timeout ? durationMs(ctx.body.timeout, 5000) : undefined,
        }),
      );
      return { status: 200, body: { ok: true } };
    }),
    route('POST', `${M}/start`, 'machine.start', (ctx) => {
      const m = machineFor(ctx);
      requireLease(m, ctx.nonce);
      const previous = m.state;
      if (previous === 'destroyed')
        throw new FlyError(404, `machine not found: ${m.id}`, 'not_found');
      if (previous === 'stopped' || previous === 'created') {
        m.restarts = 0;
        track(boot(m));
      } else if (previous !== 'started' && previous !== 'starting')
        throw new FlyError(
          412,
          `machine is ${previous}, cannot start it now`,
          'failed_precondition',
        );
      return { status: 200, body: { previous_state: previous, migrated: false, new_host: '' } };
    }),
    route('DELETE', M, 'machine.delete', async (ctx) => {
      const m = machineFor(ctx);
      requireLease(m, ctx.nonce);
      const force = ctx.query.get('force') === 'true' || ctx.query.get('kill') === 'true';
      if (m.state === 'destroyed')
        throw new FlyError(404, `machine not found: ${m.id}`, 'not_found');
      if (!force && m.state !== 'stopped' && m.state !== 'created')
        throw new FlyError(
          412,
          `machine ${m.id} is ${m.state}: stop it first or pass force=true`,
          'failed_precondition',
        );
      await track(destroy(m));
      return { status: 200, body: { ok: true } };
    }),
    route('POST', `${M}/lease`, 'lease', (ctx) => {
      const m = machineFor(ctx);
      const held = activeLease(m);
      const ttl = Number(ctx.query.get('ttl') ?? ctx.body?.ttl ?? 30);
      if (held && held.nonce !== ctx.nonce)
        throw new FlyError(
          409,
          `lease currently held by ${held.owner}, expires at ${new Date(held.expiresAt).toISOString()}`,
          'lease_held',
        );
      if (held) held.expiresAt = Date.now() + ttl * 1000;
      else m.lease = newLease(ttl, ctx.body?.description ?? '');
      return { status: 200, body: leaseJson(m.lease as Lease) };
    }),
    route('GET', `${M}/lease`, 'lease.get', (ctx) => {
      const lease = activeLease(machineFor(ctx));
      if (!lease) throw new FlyError(404, 'no active lease', 'not_found');
      return { status: 200, body: leaseJson(lease) };
    }),
    route('DELETE', `${M}/lease`, 'lease.release', (ctx) => {
      const m = machineFor(ctx);
      const held = activeLease(m);
      if (held && held.nonce !== ctx.nonce)
        throw new FlyError(
          409,
          `lease currently held by ${held.owner}: wrong or missing nonce`,
          'lease_held',
        );
      m.lease = null;
      return { status: 200, body: { status: 'success' } };
    }),
    route('GET', `${M}/wait`, 'machine.wait', async (ctx) => {
      const m = machineFor(ctx);
      const state = ctx.query.get('state') ?? 'started';
      if (!['started', 'stopped', 'suspended', 'destroyed'].includes(state))
        throw new FlyError(
          400,
          `invalid state ${state}: one of started, stopped, suspended, destroyed`,
          'invalid_request',
        );
      const raw = ctx.query.get('timeout') ?? '60';
      if (!/^\d+s?$/.test(raw))
        throw new FlyError(400, `invalid timeout ${raw}: seconds, at most 60`, 'invalid_request');
      const timeoutMs = Math.min(60, Number.parseInt(raw, 10)) * 1000;
      const instance = ctx.query.get('instance_id') ?? ctx.query.get('version');
      const reached = () =>
        instance && instance !== m.instanceId
          ? state === 'stopped' || state === 'destroyed' // that instance is gone
          : m.state === state;
      const deadline = Date.now() + timeoutMs;
      while (!reached()) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new FlyError(
            408,
            `deadline_exceeded: machine ${m.id} did not reach state ${state} within ${timeoutMs / 1000}s (it is ${m.state})`,
            'deadline_exceeded',
          );
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            m.listeners.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, left);
          m.listeners.add(wake);
        });
      }
      return { status: 200, body: { ok: true } };
    }),

    route('POST', `${A}/certificates/acme`, 'cert.create', (ctx) => {
      const app = appFor(ctx);
      const hostname = ctx.body?.hostname;
      if (typeof hostname !== 'string' || !hostname.includes('.'))
        throw new FlyError(400, 'hostname is required', 'invalid_request');
      const issueMs =
        options.certIssueMs ?? (options.latencyMs === 'realistic' ? REALISTIC_CERT_MS : 0);
      const cert = {
        hostname,
        acme_requested: true,
        created_at: now(),
        issue_at: Date.now() + issueMs,
      };
      app.certificates.set(hostname, cert);
      return { status: 201, body: certJson(cert) };
    }),
    route('GET', `${A}/certificates/(?<hostname>[^/]+)`, 'cert.get', (ctx) => {
      const cert = appFor(ctx).certificates.get(ctx.params.hostname as string);
      if (!cert) throw new FlyError(404, 'certificate not found', 'not_found');
      return { status: 200, body: certJson(cert) };
    }),
    // Asks Fly to validate again now; answers the certificate as GET does.
    route('POST', `${A}/certificates/(?<hostname>[^/]+)/check`, 'cert.check', (ctx) => {
      const cert = appFor(ctx).certificates.get(ctx.params.hostname as string);
      if (!cert) throw new FlyError(404, 'certificate not found', 'not_found');
      return { status: 200, body: certJson(cert) };
    }),
  ];

  /** A certificate as Fly shows it: `configured` once issued (issue_at is the fake's own). */
  function certJson(cert: Json) {
    const { issue_at, ...rest } = cert as Json & { issue_at: number };
    const configured = Date.now() >= issue_at;
    return { ...rest, configured, status: configured ? 'ready' : 'pending' };
  }

  function volumeFor(ctx: Ctx): Volume {
    const volume = appFor(ctx).volumes.get(ctx.params.volume as string);
    if (!volume) throw new FlyError(404, `volume not found: ${ctx.params.volume}`, 'not_found');
    return volume;
  }
  function volumeJson(v: Volume) {
    const { dir: _dir, attachedMachine, ...rest } = v;
    return { ...rest, state: 'created', attached_machine_id: attachedMachine };
  }
  function newLease(ttlSeconds: number, description: string): Lease {
    return {
      nonce: hex(6),
      expiresAt: Date.now() + ttlSeconds * 1000,
      owner: 'operator@example.com',
      version: ulid(),
      description,
    };
  }
  function leaseJson(lease: Lease) {
    return {
      status: 'success',
      data: {
        nonce: lease.nonce,
        expires_at: Math.floor(lease.expiresAt / 1000),
        owner: lease.owner,
        description: lease.description,
        version: lease.version,
      },
    };
  }

  // ----- HTTP ---------------------------------------------------------------

  /** Answers one request; returns the status sent (0 when the connection was dropped). */
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
  ): Promise<{ status: number; step: string }> {
    const requestId = `${ulid()}-iad`;
    const send = (status: number, payload?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'fly-request-id': requestId });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
      return status;
    };
    const sendError = (e: FlyError) => send(e.status, { error: e.message, status: e.code });
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const match = routes
      .map((r) => ({ r, m: r.method === method ? r.pattern.exec(url.pathname) : null }))
      .find((x) => x.m);
    const step = match?.r.step ?? 'unknown';
    const auth = authOf(req.headers.authorization);
    if (!auth)
      return {
        step,
        status: sendError(
          new FlyError(
            401,
            'unauthorized: a valid token is required (Authorization: Bearer <token>)',
            'unauthorized',
          ),
        ),
      };
    if (!match)
      return {
        step,
        status: sendError(
          new FlyError(404, `no such endpoint: ${method} ${url.pathname}`, 'not_found'),
        ),
      };
    const params = Object.fromEntries(
      Object.entries(match.m?.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
    );
    await sleep(latencyOf(options.latencyMs, step, method === 'GET'));
    // The edge's rate limiter answers first, as Fly's envoy does.
    const scope =
      params.machine ?? params.app ?? (auth.kind === 'org' ? auth.orgs.join(',') : auth.app);
    const storm = takeFault(step, ['storm']);
    if (storm || (buckets && !buckets.take(step, scope)))
      return { step, status: sendError(new FlyError(429, 'rate limit exceeded', 'rate_limited')) };
    const before = takeFault(step, ['fail', 'error', 'billing', 'capacity', 'nameTaken']);
    if (before) return { step, status: sendError(faultError(before, params.app)) };
    let parsed: Json;
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      return { step, status: sendError(new FlyError(400, 'invalid JSON body', 'invalid_request')) };
    }
    const nonceHeader = req.headers['fly-machine-lease-nonce'];
    const ctx: Ctx = {
      params,
      query: url.searchParams,
      body: parsed,
      auth,
      nonce: typeof nonceHeader === 'string' ? nonceHeader : null,
    };
    let answer: Answer;
    try {
      answer = await match.r.handle(ctx);
    } catch (error) {
      if (error instanceof FlyError) return { step, status: sendError(error) };
      throw error;
    }
    const after = takeFault(step, ['failAfter', 'lose']);
    if (after?.kind === 'lose') {
      req.socket.destroy();
      return { step, status: 0 };
    }
    if (after) return { step, status: sendError(faultError(after)) };
    return { step, status: send(answer.status, answer.body) };
  }

  const api = createServer((req, res) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void serve(req, res, Buffer.concat(chunks).toString('utf8'))
        .catch((error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `fake-fly bug: ${error}`, status: 'unknown' }));
          return { step: 'unknown', status: 500 };
        })
        .then(({ step, status }) =>
          calls.push({
            method: req.method ?? '',
            path: req.url ?? '',
            step,
            status,
            ms: Math.round(performance.now() - started),
          }),
        );
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));

  const edge = startEdge((name) => {
    const app = apps.get(name);
    const m = [...(app?.machines.values() ?? [])].find(
      (x) =>
        x.state === 'started' &&
        x.vm &&
        (x.config.services ?? []).some((s: Json) => Number(s.internal_port) === x.guestPort),
    );
    return m ? { port: m.hostPort, region: m.region } : null;
  });

  // Children must not outlive the test process, even when it ends without stop().
  const onExit = () => {
    for (const vm of allVms) vm.killAll();
  };
  process.on('exit', onExit);

  return {
    /** The API base, as FLY_API_HOSTNAME (paths under it start with /v1). */
    api: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    /** The edge, as PARACHUTE_FLY_EDGE: send requests for NAME.fly.dev here with that Host. */
    edge: `http://127.0.0.1:${edge.port}`,
    /** An org-scoped token for every org, as the dashboard prints it ("FlyV1 fm2_…"). */
    token,
    orgs: [...orgs.values()],
    /** Every API request answered so far, in order. */
    calls,
    inject,
    /** An app-scoped deploy token (cannot create apps). */
    deployToken: (app: string) => mint({ kind: 'app', app, org: apps.get(app)?.org ?? 'personal' }),
    /** Sets whether an org has billing set up (false: 422 on app and machine create). */
    setBilling: (slug: string, billing: boolean) => {
      const org = orgs.get(slug);
      if (org) org.billing = billing;
    },
    setRegionFull: (region: string, full: boolean) =>
      full ? fullRegions.add(region) : fullRegions.delete(region),
    appNames: () => [...apps.values()].filter((a) => a.org !== 'someone-else').map((a) => a.name),
    volumes: (app: string) =>
      [...(apps.get(app)?.volumes.values() ?? [])].map((v) => ({ ...volumeJson(v), dir: v.dir })),
    secrets: (app: string) =>
      Object.fromEntries([...(apps.get(app)?.secrets ?? [])].map(([k, v]) => [k, v.value])),
    /** The machines that are not destroyed (all apps), with their processes. */
    machines: () =>
      [...apps.values()].flatMap((a) =>
        [...a.machines.values()]
          .filter((m) => m.state !== 'destroyed')
          .map((m) => ({
            id: m.id,
            app: a.name,
            name: m.name,
            state: m.state,
            instanceId: m.instanceId,
            region: m.region,
            config: m.config,
            /** The environment of the current process (paths remapped). */
            env: m.env,
            /** Host port behind the service's internal_port while started. */
            port: m.vm ? m.hostPort : null,
            pid: m.vm?.pid ?? null,
            /** Every live process of the machine's "VM". */
            pids: () => m.vm?.livePids() ?? [],
            /** Console output of every boot so far. */
            logs: () => {
              try {
                return readFileSync(join(m.rootfs, '..', `${m.id}.log`), 'utf8');
              } catch {
                return '';
              }
            },
          })),
      ),
    /** Every process the fake ever started that is still alive (should be none after stop()). */
    livePids: () => [...allVms].flatMap((vm) => vm.livePids()),
    /** Stops both servers and every machine process, and removes the volumes and rootfs folders. */
    async stop() {
      closed = true;
      const running = [...apps.values()]
        .flatMap((a) => [...a.machines.values()])
        .filter((m) => m.vm);
      await Promise.all(running.map((m) => halt(m, { signal: 'SIGTERM', timeoutMs: 3000 })));
      await Promise.allSettled([...background]);
      for (const vm of allVms) vm.killAll();
      for (const m of [...apps.values()].flatMap((a) => [...a.machines.values()])) stopChecks(m);
      edge.stop(true);
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      process.off('exit', onExit);
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type FakeFly = Awaited<ReturnType<typeof startFakeFly>>;
