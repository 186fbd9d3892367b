// `parachute deploy fly` (issue 19 points 1, 2, 3, 5) against the fake
// Machines API (test/helpers/fake-fly.ts), whose machines run the real
// binary: the health gate, the setup token and the roll hit a real hub.
// Re-runs after a failure at any step (a 5xx before or after the create, a
// lost answer, a 429 storm) finish with exactly one app, volume and machine.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { VERSION } from '../src/version.ts';
import { ADMIN } from './helpers/api.ts';
import { isolatedBinary, runBinary, waitFor } from './helpers/binary.ts';
import { type FakeFly, startFakeFly } from './helpers/fake-fly.ts';
import { EdgeClient } from './helpers/fly-edge.ts';
import { assetForThisMachine, ReleaseServer } from './helpers/release-server.ts';

const IMAGE = 'registry.test/parachute-hub:test';
const SETUP_TOKEN = /parachute-bootstrap-[A-Za-z0-9_-]{43}/;

let fake: FakeFly;
let bin: string;
let release: ReleaseServer;

beforeAll(async () => {
  ({ bin } = isolatedBinary());
  // The launcher seeds the volume's binary from the release channel.
  release = new ReleaseServer(assetForThisMachine(), { binary: bin, version: VERSION });
  fake = await startFakeFly({ image: { [IMAGE]: bin } });
});

afterAll(async () => {
  await fake?.stop();
  release?.stop();
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    FLY_API_TOKEN: fake.token,
    FLY_API_HOSTNAME: fake.api,
    PARACHUTE_FLY_EDGE: fake.edge,
    PARACHUTE_FLY_IMAGE: IMAGE,
    PARACHUTE_RELEASE_URL: release.url,
    ...extra,
  };
}

const deploy = (args: string[], extra: Record<string, string> = {}) =>
  runBinary(bin, ['deploy', 'fly', ...args], { env: env(extra) });

/** What the Machines API itself says exists for `app` (its own list endpoints, not the fake's insides). */
async function inventory(app: string) {
  const get = async (path: string) => {
    const res = await fetch(`${fake.api}/v1${path}`, {
      headers: { authorization: `Bearer ${fake.token}` },
    });
    return { status: res.status, json: res.status === 200 ? await res.json() : null };
  };
  const appRes = await get(`/apps/${app}`);
  if (appRes.status !== 200) return { app: false, volumes: 0, machines: 0, ips: 0 };
  const volumes = (await get(`/apps/${app}/volumes`)).json as { state?: string }[];
  const machines = (await get(`/apps/${app}/machines`)).json as { state: string }[];
  const ips = (await get(`/apps/${app}/ip_assignments`)).json as { ips: unknown[] };
  return {
    app: true,
    volumes: volumes.filter((v) => !/destroy/.test(v.state ?? '')).length,
    machines: machines.filter((m) => m.state !== 'destroyed').length,
    ips: ips.ips.length,
  };
}

/** Create requests the fake received for `app` (any answer, lost ones included). */
function createCalls(app: string) {
  const of = (re: RegExp) =>
    fake.calls.filter((c) => c.method === 'POST' && re.test(c.path)).length;
  return {
    app: fake.calls.filter((c) => c.method === 'POST' && c.path === '/v1/apps' && c.app === app)
      .length,
    volume: of(new RegExp(`^/v1/apps/${app}/volumes$`)),
    machine: of(new RegExp(`^/v1/apps/${app}/machines$`)),
  };
}

describe('a new hub on Fly', () => {
  const app = 'deploy-first';

  test('a deploy ends with the setup URL and token, and that token creates the admin', async () => {
    const run = await deploy(['--app', app]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Step by step, in the notes' order.
    const steps = run.stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((w) =>
        ['app', 'ips', 'secrets', 'volume', 'machine', 'started', 'checks', 'online'].includes(
          w ?? '',
        ),
      );
    expect(steps).toEqual([
      'app',
      'ips',
      'secrets',
      'volume',
      'machine',
      'started',
      'checks',
      'online',
    ]);
    expect(run.stdout).toContain(`https://${app}.fly.dev/admin/setup`);
    const token = SETUP_TOKEN.exec(run.stdout)?.[0] as string;
    expect(token).toBeTruthy();
    expect(await inventory(app)).toEqual({ app: true, volumes: 1, machines: 1, ips: 2 });

    // The machine is what the issue asks for.
    const [machine] = fake.machines().filter((m) => m.app === app);
    const config = machine?.config as Record<string, any>;
    expect(config.init.cmd).toEqual(['parachute', 'fly-boot']);
    expect(config.guest).toEqual({ cpu_kind: 'shared', cpus: 1, memory_mb: 512 });
    expect(config.mounts[0].path).toBe('/parachute');
    expect(config.services[0].autostop).toBe('off');
    expect(config.services[0].ports).toEqual([
      { port: 80, handlers: ['http'], force_https: true },
      { port: 443, handlers: ['tls', 'http'] },
    ]);
    expect(config.restart.policy).toBe('always');
    expect(config.env.PARACHUTE_VERSION).toBe(VERSION);
    expect(config.metadata.parachute_role).toBe('hub');

    // The printed token sets up the hub, once.
    const admin = new EdgeClient(fake.edge, app);
    const setup = await admin.post('/api/setup', { bootstrap_token: token, ...ADMIN });
    expect(setup.status).toBe(201);
    const again = await new EdgeClient(fake.edge, app).post('/api/setup', {
      bootstrap_token: token,
      username: 'mallory',
      password: 'another long password here',
    });
    expect(again.status).toBe(409);
    const person = new EdgeClient(fake.edge, app);
    await person.login(ADMIN.username, ADMIN.password);
  }, 180_000);

  test('a re-run changes nothing: no second app, volume or machine, the secrets left alone', async () => {
    const before = createCalls(app);
    const [machine] = fake.machines().filter((m) => m.app === app);
    const run = await deploy(['--app', app]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/app\s+deploy-first: found/);
    expect(run.stdout).toMatch(/secrets\s+nothing to change/);
    expect(run.stdout).toContain(`sign in at https://${app}.fly.dev/login`);
    expect(run.stdout).not.toMatch(SETUP_TOKEN);
    expect(createCalls(app)).toEqual(before);
    expect(await inventory(app)).toEqual({ app: true, volumes: 1, machines: 1, ips: 2 });
    // Not even restarted.
    const [same] = fake.machines().filter((m) => m.app === app);
    expect(same?.instance_id).toBe(machine?.instance_id as string);
  }, 120_000);
});
