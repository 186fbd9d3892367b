import { afterAll, describe, expect, test } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { ADMIN, ApiClient, bootstrapToken, freshHub } from './helpers/api.ts';
import type { HubProcess } from './helpers/binary.ts';
import { ready, spawnHub } from './helpers/binary.ts';

const hubs: HubProcess[] = [];
afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGKILL');
});
const start = async (env: Record<string, string> = {}) => {
  const started = await freshHub(env);
  hubs.push(started.hub);
  return started;
};

describe('first run, without a browser', () => {
  test('bootstrap token → setup → signed in → operator token → logout → login', async () => {
    const { hub, url } = await start();
    const browser = new ApiClient(url);

    // The log carries the one-time token in a banner, with where to use it.
    const token = await bootstrapToken(hub);
    expect(hub.stdout()).toContain(`${url}/admin/setup`);

    // Until an admin exists, /api/* answers 503 setup_required, except what setup needs.
    for (const path of ['/api/auth/session', '/api/users', '/api/hub/origin', '/api/anything']) {
      const res = await browser.get(path);
      expect(res.status).toBe(503);
      expect(res.json.error).toBe('setup_required');
    }
    expect((await browser.get('/api/ready')).status).toBe(200);
    expect((await browser.get('/health')).status).toBe(200);
    expect((await browser.get('/api/setup')).json).toEqual({ setup_required: true });

    // Setup creates the admin and signs the browser in.
    const setup = await browser.post('/api/setup', { bootstrap_token: token, ...ADMIN });
    expect(setup.status).toBe(201);
    expect(setup.json.user).toMatchObject({ username: 'admin', role: 'admin' });
    const cookies = setup.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('parachute_session='));
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).toMatch(/; Path=\//);
    expect(session).not.toMatch(/Secure/); // plain http on loopback
    expect(cookies.find((c) => c.startsWith('parachute_csrf='))).not.toMatch(/HttpOnly/);

    const me = await browser.get('/api/auth/session');
    expect(me.status).toBe(200);
    expect(me.json.user).toMatchObject({ username: 'admin', password_change_required: false });
    expect((await browser.get('/api/setup')).json).toEqual({ setup_required: false });

    // Setup wrote the operator token: owner-only, aud=operator, admin scope, 90 days.
    const tokenPath = join(hub.home, 'operator.token');
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    const claims = decodeJwt(await Bun.file(tokenPath).text());
    expect(claims).toMatchObject({ aud: 'operator', scope: 'parachute:host:admin', iss: url });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(90 * 24 * 3600);
    // The only secret the log ever shows is the bootstrap token.
    expect(hub.stdout()).not.toContain(await Bun.file(tokenPath).text());
    expect(hub.stdout()).not.toContain(ADMIN.password);

    // Logout ends the session server-side: the old cookie no longer works.
    const stolen = browser.cookies.get('parachute_session') as string;
    expect((await browser.post('/api/auth/logout')).status).toBe(204);
    expect((await browser.get('/api/auth/session')).status).toBe(401);
    const replay = new ApiClient(url);
    replay.cookies.set('parachute_session', stolen);
    expect((await replay.get('/api/auth/session')).status).toBe(401);

    // And the password signs in again.
    const login = await browser.post('/api/auth/login', ADMIN);
    expect(login.status).toBe(200);
    expect((await browser.get('/api/auth/session')).json.user).toMatchObject({ username: 'admin' });
  });

  test('a wrong bootstrap token, a weak password and a reused token are refused', async () => {
    const { hub, url } = await start();
    const client = new ApiClient(url);
    const token = await bootstrapToken(hub);

    const wrong = await client.post('/api/setup', {
      bootstrap_token: 'parachute-bootstrap-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ...ADMIN,
    });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error).toBe('invalid_bootstrap_token');

    for (const password of ['short', 'x'.repeat(257), 'admin']) {
      const weak = await client.post('/api/setup', {
        bootstrap_token: token,
        username: 'admin',
        password,
      });
      expect(weak.status).toBe(422);
      expect(weak.json.error).toBe('weak_password');
    }
    const sameAsName = await client.post('/api/setup', {
      bootstrap_token: token,
      username: 'longusername12',
      password: 'longusername12',
    });
    expect(sameAsName.json.error).toBe('weak_password');

    const bad = await client.post('/api/setup', {
      bootstrap_token: token,
      username: 'bad name!',
      password: ADMIN.password,
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error_description).toContain('username');

    // Failed attempts did not use the token up.
    expect((await client.post('/api/setup', { bootstrap_token: token, ...ADMIN })).status).toBe(
      201,
    );

    // Used once, it is gone: no second admin, whoever asks.
    const again = await new ApiClient(url).post('/api/setup', {
      bootstrap_token: token,
      username: 'mallory',
      password: 'another long password',
    });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('already_set_up');
  });

  test('setup from another site is refused (Origin check)', async () => {
    const { hub, url } = await start();
    const token = await bootstrapToken(hub);
    for (const origin of ['https://evil.example', null]) {
      const res = await new ApiClient(url, { origin }).post('/api/setup', {
        bootstrap_token: token,
        ...ADMIN,
      });
      expect(res.status).toBe(403);
      expect(res.json.error).toBe('csrf_failed');
    }
  });

  test('each boot prints a new token; after setup a restart prints none', async () => {
    const first = await start();
    const token1 = await bootstrapToken(first.hub);
    expect(await first.hub.signal('SIGTERM')).toBe(0);
    const second = spawnHub(first.bin, { cwd: first.dir, env: { PARACHUTE_HOME: first.hub.home } });
    hubs.push(second);
    const url = await second.listening();
    await ready(url);
    const token2 = await bootstrapToken(second);
    expect(token2).not.toBe(token1);
    const old = await new ApiClient(url).post('/api/setup', { bootstrap_token: token1, ...ADMIN });
    expect(old.json.error).toBe('invalid_bootstrap_token');
    expect(
      (await new ApiClient(url).post('/api/setup', { bootstrap_token: token2, ...ADMIN })).status,
    ).toBe(201);
    expect(await second.signal('SIGTERM')).toBe(0);

    const third = spawnHub(first.bin, { cwd: first.dir, env: { PARACHUTE_HOME: first.hub.home } });
    hubs.push(third);
    await ready(await third.listening());
    expect(third.stdout()).not.toContain('parachute-bootstrap-');
  });

  test('PARACHUTE_INITIAL_ADMIN_USERNAME/_PASSWORD seed the admin at boot, with no banner', async () => {
    const { hub, url } = await start({
      PARACHUTE_INITIAL_ADMIN_USERNAME: 'owner',
      PARACHUTE_INITIAL_ADMIN_PASSWORD: 'seeded password 123',
    });
    expect(hub.stdout()).not.toContain('parachute-bootstrap-');
    expect(hub.stdout()).not.toContain('seeded password 123');
    const client = new ApiClient(url);
    await client.login('owner', 'seeded password 123');
    expect((await client.get('/api/auth/session')).json.user).toMatchObject({
      username: 'owner',
      role: 'admin',
    });
    expect(statSync(join(hub.home, 'operator.token')).mode & 0o777).toBe(0o600);
  });
});

describe('CSRF on cookie-authenticated mutations', () => {
  test('missing, forged or foreign tokens and foreign origins are refused; the real one passes', async () => {
    const { hub, url } = await start();
    const admin = new ApiClient(url);
    await admin.post('/api/setup', { bootstrap_token: await bootstrapToken(hub), ...ADMIN });
    const other = new ApiClient(url);
    await other.login(ADMIN.username, ADMIN.password);
    const body = { username: 'csrf-victim' };
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

    const attempts: [string, Record<string, string>][] = [
      ['no header', { 'x-csrf-token': '' }],
      ['forged header', { 'x-csrf-token': 'forged-token-value' }],
      [
        'another session’s token',
        { 'x-csrf-token': other.cookies.get('parachute_csrf') as string },
      ],
      ['foreign origin', { origin: 'https://evil.example' }],
    ];
    for (const [what, headers] of attempts) {
      const h = new Headers({
        cookie,
        'content-type': 'application/json',
        origin: url,
        ...headers,
      });
      if (headers['x-csrf-token'] === undefined)
        h.set('x-csrf-token', admin.cookies.get('parachute_csrf') as string);
      if (headers['x-csrf-token'] === '') h.delete('x-csrf-token');
      const res = await fetch(`${url}/api/users`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify(body),
      });
      expect({ what, status: res.status }).toEqual({ what, status: 403 });
      expect(((await res.json()) as { error: string }).error).toBe('csrf_failed');
    }
    // Matching cookie + header forged together without the session's own token fails too.
    const forgedPair = await fetch(`${url}/api/users`, {
      method: 'POST',
      headers: {
        cookie: `parachute_session=${admin.cookies.get('parachute_session')}; parachute_csrf=forged`,
        'x-csrf-token': 'forged',
        origin: url,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(forgedPair.status).toBe(403);
    // Nothing was created by any of the refused requests.
    expect(((await admin.get('/api/users')).json.users as unknown[]).length).toBe(1);

    const ok = await admin.post('/api/users', body);
    expect(ok.status).toBe(201);
    // Reads need no CSRF token.
    expect((await admin.get('/api/users', { 'x-csrf-token': 'nonsense' })).status).toBe(200);
  });
});

describe('request bodies', () => {
  /** A body sent chunked, with no Content-Length, as a stream of `total` bytes. */
  const chunked = (text: string, total = text.length) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text.padEnd(total, ' '));
        for (let at = 0; at < bytes.length; at += 64 * 1024) {
          controller.enqueue(bytes.subarray(at, at + 64 * 1024));
        }
        controller.close();
      },
    });

  test('a chunked body over 1 MiB is refused with 413; a small one reaches the route', async () => {
    const { hub, url } = await start();
    const post = (body: ReadableStream<Uint8Array>) =>
      fetch(`${url}/api/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url },
        body,
      });
    const setup = JSON.stringify({ bootstrap_token: await bootstrapToken(hub), ...ADMIN });
    const huge = await post(chunked(setup, 8 * 1024 * 1024));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toBe('payload_too_large');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    // The same setup, small and chunked, goes through: nothing was used up by the refusal.
    expect((await post(chunked(setup))).status).toBe(201);
  });
});
