// A small simulated Fly Machines API on loopback for the provisioner's
// tests: the endpoints provisioning calls (apps, IP assignments, secrets,
// volumes, machines, wait, ACME certificates, app delete), with the status
// codes and error bodies of ../shared/notes/fly-machines-api.md. Machines are
// simulated (no process): started at once, their health check passing
// unless the test holds it. The full fake with real hub machines is
// test/helpers/fake-fly.ts (issue 19); this one stays small so many jobs fit
// (the 1,000-operator simulation, bench/provisioner.ts), with the fake's
// documented rate limits and realistic latencies as options, leases and
// updates for rollouts, and an edge whose https://NAME.fly.dev/health answers
// the version in the machine's env.
import { Buckets, FLY_RATE_LIMITS, latencyOf } from './fake-fly-limits.ts';

export interface SimCall {
  method: string;
  path: string;
  status: number;
}

interface SimApp {
  name: string;
  org: string;
  ips: { ip: string; type: string }[];
  secrets: Map<string, string>;
  secretsVersion: number;
  volumes: { id: string; name: string; region: string; size_gb: number; state: string }[];
  machines: {
    id: string;
    name: string;
    region: string;
    state: string;
    instance_id: string;
    config: Record<string, unknown>;
    min_secrets_version?: number;
    lease?: { nonce: string; expires: number };
  }[];
  certificates: string[];
}

export interface FlySim {
  /** Give as FLY_API_HOSTNAME. */
  api: string;
  /** Give as PARACHUTE_FLY_EDGE: answers https://NAME.fly.dev/health for simulated machines. */
  edge: string;
  /** 429s answered. */
  rateLimited: number;
  token: string;
  org: string;
  calls: SimCall[];
  apps: Map<string, SimApp>;
  /** Names that exist in an org this token cannot see (GET answers 403). */
  foreignNames: Set<string>;
  /** While true, every machine's check is `critical`. */
  holdHealth: boolean;
  /** Counts of successful creating calls, by kind: what "nothing created twice" is checked on. */
  /**
   * The next matching request is carried out, then its answer held until
   * release(): a provisioner killed meanwhile never learns it happened.
   */
  pauseAfter(method: string, path: RegExp): { reached: Promise<void>; release(): void };
  created(): { apps: number; volumes: number; machines: number; ips: number; certificates: number };
  stop(): Promise<void>;
}

const err = (status: number, error: string, code = 'unknown') =>
  Response.json({ error, status: code }, { status });

/** The fake's step names (fake-fly.ts), which its latency table and rate limits key on. */
function stepOf(method: string, parts: string[]): string {
  const [, , name, kind, sub, action] = parts;
  if (!name) return 'app.create';
  if (!kind) return method === 'DELETE' ? 'app.delete' : 'app.get';
  if (kind === 'ip_assignments') return method === 'GET' ? 'ip.list' : 'ip.assign';
  if (kind === 'secrets') return method === 'GET' ? 'secrets.list' : 'secrets.set';
  if (kind === 'volumes') return method === 'GET' ? 'volume.list' : 'volume.create';
  if (kind === 'certificates') return method === 'GET' ? 'cert.get' : 'cert.create';
  if (!sub) return method === 'GET' ? 'machine.list' : 'machine.create';
  if (action === 'wait') return 'machine.wait';
  if (action === 'lease') return method === 'DELETE' ? 'lease.release' : 'lease';
  return method === 'GET' ? 'machine.get' : 'machine.update';
}

export function startFlySim(
  options: {
    org?: string;
    /** Per call, as fake-fly's `latencyMs`. */
    latencyMs?: number | 'realistic';
    /** Fly's documented limits (fake-fly-limits.ts). */
    rateLimit?: boolean;
  } = {},
): FlySim {
  const buckets = options.rateLimit ? new Buckets(FLY_RATE_LIMITS) : null;
  const token = `FlyV1 fm2_sim_${crypto.randomUUID()}`;
  const org = options.org ?? 'sim-org';
  const apps = new Map<string, SimApp>();
  const calls: SimCall[] = [];
  const foreignNames = new Set<string>();
  const id = (prefix = '') => `${prefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 14)}`;
  let ipCounter = 1;
  let pause: { method: string; path: RegExp; hit: () => void; gate: Promise<void> } | null = null;

  const sim: FlySim = {
    api: '',
    edge: '',
    rateLimited: 0,
    token,
    org,
    calls,
    apps,
    foreignNames,
    holdHealth: false,
    pauseAfter(method, path) {
      let hit = () => {};
      let open = () => {};
      const reached = new Promise<void>((r) => {
        hit = r;
      });
      const gate = new Promise<void>((r) => {
        open = r;
      });
      pause = { method, path, hit, gate };
      return { reached, release: open };
    },
    created() {
      const ok = (method: string, re: RegExp) =>
        calls.filter((c) => c.method === method && re.test(c.path) && c.status < 300).length;
      return {
        apps: ok('POST', /^\/v1\/apps$/),
        volumes: ok('POST', /\/volumes$/),
        machines: ok('POST', /\/machines$/),
        ips: ok('POST', /\/ip_assignments$/),
        certificates: ok('POST', /\/certificates\/acme$/),
      };
    },
    stop: async () => server.stop(true),
  };

  const machineJson = (m: SimApp['machines'][number]) => ({
    ...m,
    checks: [{ name: 'health', status: sim.holdHealth ? 'critical' : 'passing' }],
  });

  async function answer(req: Request): Promise<Response> {
    if (req.headers.get('authorization') !== token) return err(401, 'unauthorized');
    const url = new URL(req.url);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'v1' || parts[1] !== 'apps') return err(404, 'not found');
    const body =
      req.method === 'POST'
        ? ((await req.json().catch(() => ({}))) as Record<string, unknown>)
        : {};
    const [, , name, kind, sub, action] = parts;

    if (!name) {
      if (req.method !== 'POST') return err(405, 'method not allowed');
      const appName = String(body.app_name ?? '');
      if (!/^[a-z0-9-]{2,63}$/.test(appName)) return err(400, 'invalid app name');
      if (apps.has(appName) || foreignNames.has(appName))
        return err(422, 'Name has already been taken', 'name_taken');
      if (body.org_slug !== org) return err(404, 'organization not found');
      apps.set(appName, {
        name: appName,
        org,
        ips: [],
        secrets: new Map(),
        secretsVersion: 0,
        volumes: [],
        machines: [],
        certificates: [],
      });
      return Response.json({ id: id(), created_at: Date.now() }, { status: 201 });
    }
    if (foreignNames.has(name)) return err(403, 'unauthorized');
    const app = apps.get(name);
    if (!app) return err(404, `app ${name} not found`);

    if (!kind) {
      if (req.method === 'GET')
        return Response.json({ id: name, name, status: 'deployed', organization: { slug: org } });
      if (req.method === 'DELETE') {
        apps.delete(name);
        return new Response(null, { status: 202 });
      }
    }
    if (kind === 'ip_assignments') {
      if (req.method === 'GET') return Response.json({ ips: app.ips });
      const type = String(body.type);
      const ip = type === 'v6' ? `fdaa:0:${ipCounter++}::1` : `66.241.124.${ipCounter++ % 250}`;
      app.ips.push({ ip, type });
      return Response.json({ ip, region: 'global', shared: type === 'shared_v4' });
    }
    if (kind === 'secrets' && req.method === 'POST') {
      const values = (body.values ?? {}) as Record<string, string | null>;
      for (const [k, v] of Object.entries(values)) {
        if (v === null) app.secrets.delete(k);
        else app.secrets.set(k, v);
      }
      app.secretsVersion++;
      return Response.json({
        secrets: [...app.secrets.keys()].map((n) => ({ name: n })),
        version: app.secretsVersion,
      });
    }
    if (kind === 'volumes') {
      if (req.method === 'GET') return Response.json(app.volumes);
      const volume = {
        id: id('vol_'),
        name: String(body.name),
        region: String(body.region),
        size_gb: Number(body.size_gb ?? 3),
        state: 'created',
      };
      app.volumes.push(volume);
      return Response.json(volume);
    }
    if (kind === 'machines') {
      if (!sub) {
        if (req.method === 'GET') {
          const role = url.searchParams.get('metadata.parachute_role');
          return Response.json(
            app.machines
              .filter(
                (m) =>
                  !role || (m.config.metadata as Record<string, string>)?.parachute_role === role,
              )
              .map(machineJson),
          );
        }
        // A volume serves one machine: a second machine on it is refused as Fly does.
        const mounts = ((body.config as { mounts?: { volume: string }[] })?.mounts ?? []).map(
          (mt) => mt.volume,
        );
        const attached = app.machines.some((m) =>
          ((m.config as { mounts?: { volume: string }[] }).mounts ?? []).some((mt) =>
            mounts.includes(mt.volume),
          ),
        );
        if (attached) return err(422, 'volume is already attached to a machine');
        const machine = {
          id: id(),
          name: String(body.name ?? id()),
          region: String(body.region),
          state: 'started',
          instance_id: id('i'),
          config: (body.config ?? {}) as Record<string, unknown>,
          min_secrets_version: body.min_secrets_version as number | undefined,
        };
        app.machines.push(machine);
        return Response.json(machineJson(machine));
      }
      const machine = app.machines.find((m) => m.id === sub);
      if (!machine) return err(404, `machine ${sub} not found`);
      if (action === 'wait') return Response.json({ ok: true });
      if (!action && req.method === 'GET') return Response.json(machineJson(machine));
      const held = machine.lease && machine.lease.expires > Date.now() ? machine.lease : null;
      const nonce = req.headers.get('fly-machine-lease-nonce');
      if (action === 'lease' && req.method === 'POST') {
        if (held && held.nonce !== nonce) return err(409, 'lease currently held');
        const ttl = Number(url.searchParams.get('ttl') ?? 30);
        machine.lease = { nonce: held?.nonce ?? id('n'), expires: Date.now() + ttl * 1000 };
        return Response.json({
          status: 'success',
          data: {
            nonce: machine.lease.nonce,
            expires_at: Math.floor(machine.lease.expires / 1000),
          },
        });
      }
      if (action === 'lease' && req.method === 'DELETE') {
        if (held && held.nonce === nonce) machine.lease = undefined;
        return Response.json({ ok: true });
      }
      if (!action && req.method === 'POST') {
        if (held && held.nonce !== nonce) return err(409, 'machine is leased by someone else');
        // A full replace, as Fly does: a new instance boots with the new config.
        machine.config = (body.config ?? {}) as Record<string, unknown>;
        machine.instance_id = id('i');
        return Response.json(machineJson(machine));
      }
    }
    if (kind === 'certificates') {
      if (req.method === 'GET' && sub) {
        return app.certificates.includes(sub)
          ? Response.json({ hostname: sub, configured: true })
          : err(404, 'certificate not found');
      }
      // A simulated certificate is issued at once.
      if (req.method === 'POST' && sub && action === 'check') {
        return app.certificates.includes(sub)
          ? Response.json({ hostname: sub, configured: true })
          : err(404, 'certificate not found');
      }
      if (req.method === 'POST' && sub === 'acme') {
        const hostname = String(body.hostname);
        if (!app.certificates.includes(hostname)) app.certificates.push(hostname);
        return Response.json({ hostname, configured: false, acme_requested: true });
      }
    }
    return err(404, `no such endpoint ${req.method} ${url.pathname}`);
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] === 'v1' && parts[1] === 'apps' && req.headers.get('authorization') === token) {
        const step = stepOf(req.method, parts);
        await Bun.sleep(latencyOf(options.latencyMs, step, req.method === 'GET'));
        const scope = (parts[4] && parts[3] === 'machines' ? parts[4] : parts[2]) ?? org;
        if (buckets && !buckets.take(step, scope)) {
          sim.rateLimited++;
          calls.push({ method: req.method, path: url.pathname, status: 429 });
          return err(429, 'rate limit exceeded', 'rate_limited');
        }
      }
      const res = await answer(req);
      const path = new URL(req.url).pathname;
      if (pause && pause.method === req.method && pause.path.test(path)) {
        const { hit, gate } = pause;
        pause = null;
        calls.push({ method: req.method, path, status: res.status });
        hit();
        await gate;
        return res;
      }
      calls.push({ method: req.method, path: new URL(req.url).pathname, status: res.status });
      return res;
    },
  });
  // https://NAME.fly.dev/health of a simulated machine: the version its env says.
  const edge = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const host = (req.headers.get('host') ?? '').replace(/:\d+$/, '');
      const name = /^([a-z0-9-]+)\.fly\.dev$/.exec(host)?.[1];
      const machine = name ? apps.get(name)?.machines[0] : undefined;
      if (!machine || new URL(req.url).pathname !== '/health')
        return new Response('not found\n', { status: 404 });
      if (sim.holdHealth) return Response.json({ status: 'starting' }, { status: 503 });
      const env = (machine.config.env ?? {}) as Record<string, string>;
      return Response.json({ status: 'ok', version: env.PARACHUTE_VERSION ?? null });
    },
  });
  sim.api = `http://127.0.0.1:${server.port}`;
  sim.edge = `http://127.0.0.1:${edge.port}`;
  sim.stop = async () => {
    await server.stop(true);
    await edge.stop(true);
  };
  return sim;
}
