// The fake Fly Machines API (test/helpers/fake-fly.ts) behaves as Fly's
// documented API does (../shared/notes/fly-machines-api.md), so tests of
// `parachute deploy fly` against it mean something: status codes, error
// bodies, rate limits, leases, waits, faults, and machines that are real
// processes reached through the edge.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { isolatedBinary, waitFor } from './helpers/binary.ts';
import { type FakeFly, startFakeFly } from './helpers/fake-fly.ts';

const ECHO = 'registry.fly.io/echo:1';
const HUB = 'ghcr.io/openparachute/parachute-hub:test';
const ECHO_ARGV = [process.execPath, resolve(import.meta.dir, 'fixtures/fly-echo-machine.ts')];

const fakes: FakeFly[] = [];
afterAll(async () => {
  for (const fly of fakes) await fly.stop();
});

async function fake(options: Partial<Parameters<typeof startFakeFly>[0]> = {}) {
  const fly = await startFakeFly({ image: { [ECHO]: ECHO_ARGV }, ...options });
  fakes.push(fly);
  return fly;
}

/** Calls the fake API as the deploy command would; `token` null sends no Authorization. */
function client(fly: FakeFly, token: string | null = fly.token) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = /^(FlyV1|Bearer) /.test(token) ? token : `Bearer ${token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${fly.api}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
  };
}
type Client = ReturnType<typeof client>;

/** Sends a request to https://NAME.fly.dev through the fake edge. */
function viaEdge(fly: FakeFly, app: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('host', `${app}.fly.dev`);
  return fetch(`${fly.edge}${path}`, { ...init, headers });
}

const echoConfig = (extra: Record<string, unknown> = {}) => ({
  image: ECHO,
  guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 512 },
  services: [
    {
      protocol: 'tcp',
      internal_port: 1939,
      ports: [
        { port: 80, handlers: ['http'], force_https: true },
        { port: 443, handlers: ['tls', 'http'] },
      ],
      autostop: 'off',
    },
  ],
  checks: { health: { type: 'http', port: 1939, path: '/health', interval: '15s', timeout: '2s' } },
  ...extra,
});

async function appWithVolume(api: Client, name: string) {
  expect((await api('POST', '/v1/apps', { app_name: name, org_slug: 'personal' })).status).toBe(
    201,
  );
  const volume = await api('POST', `/v1/apps/${name}/volumes`, {
    name: 'parachute_home',
    region: 'iad',
    size_gb: 1,
  });
  expect(volume.status).toBe(200);
  return volume.json.id as string;
}

async function startedMachine(api: Client, app: string, body: Record<string, unknown>) {
  const created = await api('POST', `/v1/apps/${app}/machines`, body);
  expect(created.status).toBe(200);
  const id = created.json.id as string;
  const wait = await api('GET', `/v1/apps/${app}/machines/${id}/wait?state=started&timeout=30`);
  expect(wait.status).toBe(200);
  // `started` means the process runs, not that it listens (as on Fly): wait for the check.
  await waitFor(`machine ${id}'s check to pass`, async () =>
    (await api('GET', `/v1/apps/${app}/machines/${id}`)).json.checks.every(
      (c: { status: string }) => c.status === 'passing',
    )
      ? true
      : undefined,
  );
  return created.json;
}

describe('apps, tokens and business errors', () => {
  test('404 for a free name, 201 on create, 422 name_taken, 403 for another org, 401 without a token', async () => {
    const fly = await fake({ takenNames: ['someone-elses-hub'] });
    const api = client(fly);
    const free = await api('GET', '/v1/apps/my-hub');
    expect(free.status).toBe(404);
    expect(free.json.error).toContain('my-hub');
    expect(free.headers.get('fly-request-id')).toBeTruthy();

    const created = await api('POST', '/v1/apps', { app_name: 'my-hub', org_slug: 'personal' });
    expect(created.status).toBe(201);
    expect(created.json.id).toBeTruthy();
    const app = await api('GET', '/v1/apps/my-hub');
    expect(app.status).toBe(200);
    expect(app.json).toMatchObject({
      name: 'my-hub',
      organization: { slug: 'personal' },
      machine_count: 0,
    });
    // fly-go's field name works too.
    const again = await api('POST', '/v1/apps', { name: 'my-hub', org_slug: 'personal' });
    expect(again.status).toBe(422);
    expect(again.json.status).toBe('name_taken');

    const other = await api('GET', '/v1/apps/someone-elses-hub');
    expect(other.status).toBe(403);
    const steal = await api('POST', '/v1/apps', {
      app_name: 'someone-elses-hub',
      org_slug: 'personal',
    });
    expect(steal.status).toBe(422);
    expect(steal.json.status).toBe('name_taken');

    const list = await api('GET', '/v1/apps?org_slug=personal');
    expect(list.json.apps.map((a: { name: string }) => a.name)).toEqual(['my-hub']);

    expect((await client(fly, null)('GET', '/v1/apps/my-hub')).status).toBe(401);
    expect((await client(fly, 'fm2_forged')('GET', '/v1/apps/my-hub')).status).toBe(401);
    // The dashboard's "FlyV1 fm2_…" also works pasted after Bearer.
    expect((await client(fly, `Bearer ${fly.token}`)('GET', '/v1/apps/my-hub')).status).toBe(200);
  });

  test('a deploy token works on its app but cannot create apps; an org without billing gets the 422', async () => {
    const fly = await fake({ orgs: [{ slug: 'personal' }, { slug: 'no-card', billing: false }] });
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'deployed', org_slug: 'personal' });
    const deploy = client(fly, fly.deployToken('deployed'));
    expect((await deploy('GET', '/v1/apps/deployed')).status).toBe(200);
    const refused = await deploy('POST', '/v1/apps', { app_name: 'another', org_slug: 'personal' });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain('cannot create apps');
    expect((await deploy('GET', '/v1/apps/another')).status).toBe(404);

    const billing = await api('POST', '/v1/apps', { app_name: 'broke', org_slug: 'no-card' });
    expect(billing.status).toBe(422);
    expect(billing.json.error).toContain('payment information');
    expect((await api('GET', '/v1/apps/broke')).status).toBe(404);

    // Billing removed after the app was made: the machine create is refused.
    fly.setBilling('personal', false);
    const machine = await api('POST', '/v1/apps/deployed/machines', {
      region: 'iad',
      config: echoConfig(),
    });
    expect(machine.status).toBe(422);
    expect(machine.json.error).toContain('https://fly.io/dashboard/personal/billing');
    expect((await api('GET', '/v1/apps/deployed/machines')).json).toEqual([]);
  });

  test('secrets: bulk set with null deletes returns a version; listing has no values', async () => {
    const fly = await fake();
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'sec', org_slug: 'personal' });
    const first = await api('POST', '/v1/apps/sec/secrets', { values: { A: 'one', B: 'two' } });
    expect(first.json.version).toBe(1);
    const second = await api('POST', '/v1/apps/sec/secrets', { values: { B: null, C: 'three' } });
    expect(second.json.version).toBe(2);
    const list = await api('GET', '/v1/apps/sec/secrets');
    expect(list.json.secrets.map((s: { name: string }) => s.name).sort()).toEqual(['A', 'C']);
    expect(JSON.stringify(list.json)).not.toContain('three');
  });

  test('volumes: a full region answers insufficient_capacity; IPs list and allocate', async () => {
    const fly = await fake({ fullRegions: ['iad'] });
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'vols', org_slug: 'personal' });
    const full = await api('POST', '/v1/apps/vols/volumes', {
      name: 'parachute_home',
      region: 'iad',
    });
    expect(full.status).toBe(422);
    expect(full.json.status).toBe('insufficient_capacity');
    const ok = await api('POST', '/v1/apps/vols/volumes', {
      name: 'parachute_home',
      region: 'ord',
      size_gb: 1,
    });
    expect(ok.json).toMatchObject({
      name: 'parachute_home',
      region: 'ord',
      size_gb: 1,
      attached_machine_id: null,
    });
    expect(ok.json.id).toMatch(/^vol_/);
    expect((await api('GET', '/v1/apps/vols/volumes')).json).toHaveLength(1);

    expect((await api('GET', '/v1/apps/vols/ip_assignments')).json.ips).toEqual([]);
    const v4 = await api('POST', '/v1/apps/vols/ip_assignments', { type: 'shared_v4' });
    expect(v4.json.shared).toBe(true);
    await api('POST', '/v1/apps/vols/ip_assignments', { type: 'v6' });
    // A second shared v4 is the same address, not another one.
    expect((await api('POST', '/v1/apps/vols/ip_assignments', { type: 'shared_v4' })).json.ip).toBe(
      v4.json.ip,
    );
    expect((await api('GET', '/v1/apps/vols/ip_assignments')).json.ips).toHaveLength(2);
  });
});

describe('rate limits and faults', () => {
  test('1 req/s burst 3 per action: the 4th call gets 429 rate_limited, and the bucket refills', async () => {
    const fly = await fake({ rateLimit: true });
    const api = client(fly);
    for (let i = 0; i < 3; i++)
      expect(
        (await api('POST', '/v1/apps', { app_name: `rl-${i}`, org_slug: 'personal' })).status,
      ).toBe(201);
    const limited = await api('POST', '/v1/apps', { app_name: 'rl-3', org_slug: 'personal' });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ error: 'rate limit exceeded', status: 'rate_limited' });
    expect((await api('GET', '/v1/apps/rl-3')).status).toBe(404); // refused, not done
    // Another action has its own bucket.
    expect((await api('GET', '/v1/apps/rl-0')).status).toBe(200);
    const started = performance.now();
    await waitFor(
      'the create bucket to refill',
      async () =>
        (await api('POST', '/v1/apps', { app_name: 'rl-3', org_slug: 'personal' })).status === 201
          ? true
          : undefined,
      5000,
    );
    expect(performance.now() - started).toBeGreaterThan(300);
  });

  test('GET machine has its own budget of 5/s burst 10; realistic latency holds each call', async () => {
    const fly = await fake({ rateLimit: true, latencyMs: { 'app.create': 700 } });
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'gets', org_slug: 'personal' });
    expect(fly.calls.at(-1)?.ms).toBeGreaterThanOrEqual(700);
    const m = await api('POST', '/v1/apps/gets/machines', {
      region: 'iad',
      skip_launch: true,
      config: echoConfig(),
    });
    expect(m.json.state).toBe('created');
    const statuses = [];
    for (let i = 0; i < 11; i++)
      statuses.push((await api('GET', `/v1/apps/gets/machines/${m.json.id}`)).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  test('injected faults: fail before, failAfter, lose, storm; the calls log counts them', async () => {
    const fly = await fake();
    const api = client(fly);
    fly.inject('app.create', { kind: 'fail', status: 503 });
    expect(
      (await api('POST', '/v1/apps', { app_name: 'faulty', org_slug: 'personal' })).status,
    ).toBe(503);
    expect((await api('GET', '/v1/apps/faulty')).status).toBe(404);

    fly.inject('app.create', { kind: 'failAfter' });
    expect(
      (await api('POST', '/v1/apps', { app_name: 'faulty', org_slug: 'personal' })).status,
    ).toBe(500);
    expect((await api('GET', '/v1/apps/faulty')).status).toBe(200); // it was created all the same

    fly.inject('secrets.set', { kind: 'lose' });
    const lost = await api('POST', '/v1/apps/faulty/secrets', { values: { K: 'v' } }).catch(
      (e) => e,
    );
    expect(lost).toBeInstanceOf(Error);
    expect(String(lost)).toMatch(/ECONNRESET|closed/);
    expect(fly.secrets('faulty')).toEqual({ K: 'v' }); // done, answer lost

    // A lost create answer: the machine exists all the same, and a listing by metadata finds it.
    fly.inject('machine.create', { kind: 'lose' });
    const config = echoConfig({ metadata: { parachute_role: 'hub' } });
    const lostCreate = await api('POST', '/v1/apps/faulty/machines', {
      region: 'iad',
      skip_launch: true,
      config,
    }).catch((e) => e);
    expect(lostCreate).toBeInstanceOf(Error);
    expect(
      (await api('GET', '/v1/apps/faulty/machines?metadata.parachute_role=hub')).json,
    ).toHaveLength(1);

    fly.inject('ip.list', { kind: 'storm', times: 4 });
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await api('GET', '/v1/apps/faulty/ip_assignments')).status);
    expect(statuses).toEqual([429, 429, 429, 429, 200]);

    fly.inject('volume.create', { kind: 'capacity' });
    expect(
      (await api('POST', '/v1/apps/faulty/volumes', { name: 'v', region: 'iad' })).json.status,
    ).toBe('insufficient_capacity');
    fly.inject('app.create', { kind: 'billing' });
    expect(
      (await api('POST', '/v1/apps', { app_name: 'other', org_slug: 'personal' })).json.error,
    ).toContain('payment information');

    const byStep = (step: string) => fly.calls.filter((c) => c.step === step).map((c) => c.status);
    expect(byStep('app.create')).toEqual([503, 500, 422]);
    expect(byStep('secrets.set')).toEqual([0]);
    expect(byStep('ip.list')).toHaveLength(5);
  });
});

describe('machines', () => {
  test('a machine that never boots: wait answers 408 at its timeout', async () => {
    const fly = await fake();
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'stuck', org_slug: 'personal' });
    fly.inject('machine.boot', { kind: 'hang' });
    const m = await api('POST', '/v1/apps/stuck/machines', { region: 'iad', config: echoConfig() });
    expect(m.status).toBe(200);
    const started = performance.now();
    const wait = await api(
      'GET',
      `/v1/apps/stuck/machines/${m.json.id}/wait?state=started&timeout=1`,
    );
    expect(wait.status).toBe(408);
    expect(wait.json.status).toBe('deadline_exceeded');
    expect(performance.now() - started).toBeGreaterThan(900);
    expect((await api('GET', `/v1/apps/stuck/machines/${m.json.id}`)).json.state).toBe('starting');
  });

  test('leases: 409 for another holder; update needs the nonce, replaces the config, new instance', async () => {
    const fly = await fake();
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'leased', org_slug: 'personal' });
    const m = await startedMachine(api, 'leased', { region: 'iad', config: echoConfig() });
    const base = `/v1/apps/leased/machines/${m.id}`;

    const lease = await api('POST', `${base}/lease?ttl=30`);
    expect(lease.status).toBe(200);
    const nonce = lease.json.data.nonce as string;
    expect(lease.json.data.expires_at).toBeGreaterThan(Date.now() / 1000);
    expect((await api('POST', `${base}/lease?ttl=30`)).status).toBe(409);

    // A secret set now reaches the machine only with its next update.
    const secrets = await api('POST', '/v1/apps/leased/secrets', { values: { LATER: 'secret' } });
    expect((await (await viaEdge(fly, 'leased', '/env')).json()).LATER).toBeUndefined();
    const config = { ...echoConfig(), env: { NEW: 'config' } };
    const tooNew = await api(
      'POST',
      base,
      { config, min_secrets_version: secrets.json.version + 1 },
      { 'fly-machine-lease-nonce': nonce },
    );
    expect(tooNew.status).toBe(422);
    const unleased = await api('POST', base, { config });
    expect(unleased.status).toBe(409);
    expect((await api('POST', `${base}/stop`)).status).toBe(409);
    const updated = await api(
      'POST',
      base,
      { config, min_secrets_version: secrets.json.version },
      { 'fly-machine-lease-nonce': nonce },
    );
    expect(updated.status).toBe(200);
    expect(updated.json.instance_id).not.toBe(m.instance_id);
    const wait = await api(
      'GET',
      `${base}/wait?state=started&timeout=30&instance_id=${updated.json.instance_id}`,
    );
    expect(wait.status).toBe(200);
    // Full replace: the new process has the new env; the old instance is stopped.
    const env = await waitFor('the new instance to answer', async () => {
      const res = await viaEdge(fly, 'leased', '/env');
      return res.status === 200 ? await res.json() : undefined;
    });
    expect(env).toMatchObject({ NEW: 'config', LATER: 'secret' });
    expect(
      (await api('GET', `${base}/wait?state=stopped&timeout=1&instance_id=${m.instance_id}`))
        .status,
    ).toBe(200);

    expect((await api('DELETE', `${base}/lease`)).status).toBe(409);
    expect(
      (await api('DELETE', `${base}/lease`, undefined, { 'fly-machine-lease-nonce': nonce }))
        .status,
    ).toBe(200);
    expect((await api('POST', `${base}/lease?ttl=1`)).status).toBe(200);
    // A lease expires by its ttl.
    await waitFor('the 1 s lease to expire', async () =>
      (await api('POST', `${base}/lease?ttl=30`)).status === 200 ? true : undefined,
    );
    const held = (await api('GET', `${base}/lease`)).json.data.nonce;
    const holder = { 'fly-machine-lease-nonce': held };
    // A started machine is destroyed only with force=true.
    expect((await api('DELETE', base, undefined, holder)).status).toBe(412);
    const pid = fly.machines()[0]?.pid as number;
    expect((await api('DELETE', `${base}?force=true`, undefined, holder)).status).toBe(200);
    expect(isAlive(pid)).toBe(false);
    expect((await api('GET', '/v1/apps/leased/machines')).json).toEqual([]);
  });

  test('a machine is a real process: env, secrets, remapped paths, checks, the edge headers, restarts', async () => {
    const fly = await fake();
    const api = client(fly);
    const volume = await appWithVolume(api, 'echo');
    const secrets = await api('POST', '/v1/apps/echo/secrets', {
      values: { PARACHUTE_SETUP_TOKEN: 'from-a-secret' },
    });
    const m = await startedMachine(api, 'echo', {
      name: 'hub',
      region: 'iad',
      min_secrets_version: secrets.json.version,
      config: echoConfig({
        mounts: [{ volume, path: '/parachute' }],
        metadata: { parachute_role: 'hub' },
        restart: { policy: 'always' },
      }),
    });
    const listed = await api('GET', '/v1/apps/echo/machines?metadata.parachute_role=hub');
    expect(listed.json.map((x: { id: string }) => x.id)).toEqual([m.id]);
    expect((await api('GET', '/v1/apps/echo/machines?metadata.parachute_role=other')).json).toEqual(
      [],
    );
    expect((await api('GET', `/v1/apps/echo/volumes/${volume}`)).json.attached_machine_id).toBe(
      m.id,
    );

    const env = await (await viaEdge(fly, 'echo', '/env')).json();
    const volumeDir = fly.volumes('echo')[0]?.dir as string;
    expect(env).toMatchObject({
      PARACHUTE_SETUP_TOKEN: 'from-a-secret',
      PARACHUTE_IMAGE: '1',
      PARACHUTE_HOME: volumeDir,
      HOME: volumeDir,
      TMPDIR: `${volumeDir}/tmp`,
      BUN_INSTALL_CACHE_DIR: `${volumeDir}/cache/bun`,
      PARACHUTE_BIND_HOST: '127.0.0.1',
      FLY_APP_NAME: 'echo',
      FLY_MACHINE_ID: m.id,
      FLY_REGION: 'iad',
      FLY_IMAGE_REF: ECHO,
    });
    expect(env.PORT).not.toBe('1939');
    expect(env.PATH).toContain(`${volumeDir}/bin`);

    const headers = await (
      await viaEdge(fly, 'echo', '/headers', {
        headers: { 'x-forwarded-for': '6.6.6.6', 'fly-client-ip': '6.6.6.6' },
      })
    ).json();
    expect(headers).toMatchObject({
      host: 'echo.fly.dev',
      'fly-client-ip': '127.0.0.1',
      'x-forwarded-for': '6.6.6.6, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
    });
    expect((await viaEdge(fly, 'nobody', '/health')).status).toBe(502);

    const checks = await waitFor('the health check to pass', async () => {
      const got = (await api('GET', `/v1/apps/echo/machines/${m.id}`)).json.checks;
      return got[0]?.status === 'passing' ? got : undefined;
    });
    expect(checks).toEqual([expect.objectContaining({ name: 'health', status: 'passing' })]);

    // Restart policy always: the process comes back, same instance.
    const pid = fly.machines()[0]?.pid;
    await viaEdge(fly, 'echo', '/exit?code=3', { method: 'POST' });
    await waitFor('the machine to restart', () => {
      const now = fly.machines()[0];
      return now?.state === 'started' && now.pid !== pid ? true : undefined;
    });
    expect(fly.machines()[0]?.instanceId).toBe(m.instance_id);
    await waitFor('the restarted process to answer', async () =>
      (await viaEdge(fly, 'echo', '/health')).status === 200 ? true : undefined,
    );
  });

  test('the edge streams a multi-MB upload and download both ways', async () => {
    const fly = await fake();
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'stream', org_slug: 'personal' });
    const m = await startedMachine(api, 'stream', { region: 'iad', config: echoConfig() });
    const logs = () =>
      fly
        .machines()
        .find((x) => x.id === m.id)
        ?.logs() ?? '';

    // Upload: the machine has the first MB before the client sends the rest.
    const MB = 1024 * 1024;
    let sawFirst = false;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(MB).fill(7));
        await waitFor('the machine to receive the first MB', () =>
          /received (\d+)/g.test(logs()) &&
          Number([...logs().matchAll(/received (\d+)/g)].at(-1)?.[1]) >= MB
            ? true
            : undefined,
        );
        sawFirst = true;
        for (let i = 0; i < 7; i++) controller.enqueue(new Uint8Array(MB).fill(7));
        controller.close();
      },
    });
    const up = await viaEdge(fly, 'stream', '/upload', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/gzip' },
      // @ts-expect-error a streamed request body
      duplex: 'half',
    });
    expect(sawFirst).toBe(true);
    const expected = new Bun.CryptoHasher('sha256')
      .update(new Uint8Array(8 * MB).fill(7))
      .digest('hex');
    expect(await up.json()).toEqual({ bytes: 8 * MB, sha256: expected });

    // Download: the client has the first MB while the machine holds the rest.
    const down = await viaEdge(fly, 'stream', '/download?mb=6');
    const reader = (down.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < MB) received += (await reader.read()).value?.length ?? 0;
    expect(received).toBeLessThan(6 * MB);
    await viaEdge(fly, 'stream', '/release');
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      received += chunk.value.length;
    }
    expect(received).toBe(6 * MB);
  });

  test('a real hub: /health through the edge, its home on the volume, deleting the app kills it', async () => {
    const { bin } = isolatedBinary();
    const fly = await fake({ image: { [HUB]: bin } });
    const api = client(fly);
    const volume = await appWithVolume(api, 'real-hub');
    const config = {
      ...echoConfig({
        mounts: [{ volume, path: '/parachute' }],
        init: { cmd: ['parachute', 'serve'] },
      }),
      image: HUB,
    };
    // startedMachine waits for the machine's /health check: the fake's checks reach the real hub.
    await startedMachine(api, 'real-hub', { region: 'iad', config });
    const health = await waitFor(
      'the hub to answer /health through the edge',
      async () => {
        const res = await viaEdge(fly, 'real-hub', '/health');
        return res.status === 200 ? await res.json() : undefined;
      },
      30_000,
    );
    expect(health.status).toBe('ok');
    const volumeDir = fly.volumes('real-hub')[0]?.dir as string;
    expect(readdirSync(volumeDir).length).toBeGreaterThan(0); // PARACHUTE_HOME is the volume

    const pids = fly.machines()[0]?.pids() ?? [];
    expect(pids.length).toBeGreaterThan(0);
    expect((await api('DELETE', '/v1/apps/real-hub')).status).toBe(202);
    expect((await api('GET', '/v1/apps/real-hub')).status).toBe(404);
    await waitFor(
      'the hub process and the volume to be gone',
      () => (pids.every((pid) => !isAlive(pid)) && !existsSync(volumeDir) ? true : undefined),
      20_000,
    );
    expect((await viaEdge(fly, 'real-hub', '/health')).status).toBe(502);
  }, 60_000);

  test('no orphans after stop(): the machine and the detached process it started are gone', async () => {
    const fly = await startFakeFly({ image: { [ECHO]: ECHO_ARGV } });
    const api = client(fly);
    await api('POST', '/v1/apps', { app_name: 'orphans', org_slug: 'personal' });
    const m = await startedMachine(api, 'orphans', {
      region: 'iad',
      config: echoConfig({ env: { SPAWN_GRANDCHILD: '1' } }),
    });
    const machine = () => fly.machines().find((x) => x.id === m.id);
    const grandchild = Number(
      (await waitFor(
        'the grandchild',
        () => /grandchild (\d+)/.exec(machine()?.logs() ?? '')?.[1],
      )) as string,
    );
    await waitFor('the fake to see the grandchild', () =>
      machine()?.pids().includes(grandchild) ? true : undefined,
    );
    const pids = machine()?.pids() ?? [];
    expect(pids).toContain(grandchild);
    await fly.stop();
    // Zombies are dead: reaping an orphan is PID 1's job, not the fake's.
    const ps = Bun.spawnSync([
      'ps',
      '-o',
      'pid=,stat=,args=',
      '-p',
      pids.join(','),
    ]).stdout.toString();
    expect(ps.split('\n').filter((line) => line.trim() && !/^\s*\d+\s+Z/.test(line))).toEqual([]);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
