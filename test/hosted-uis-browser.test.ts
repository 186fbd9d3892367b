// Hosted UIs (services.json `uis`) gated by audience, in Chromium and over
// raw HTTP against the real binary, with fx-hosted writing its own row
// (test/fixtures/modules/README.md). Also the trust headers modules read
// (X-Parachute-Layer, X-Parachute-Client-IP) and PARACHUTE_HUB_ORIGINS.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { adminContext } from './helpers/module-attacks.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const APPS = 'apps.parachute.localhost';
const USER = { username: 'carol', password: 'carol has a long passphrase' };
const UIS = ['pub', 'users', 'ops', 'scoped', 'odd'] as const;
const REDIRECT = 'http://127.0.0.1:4711/callback';

const hubs = trackHubs();
let url: string;
let port: string;
let call: OperatorCall;
let hubLog: () => string;
let browser: Browser;
let admin: ApiClient;
let user: ApiClient;
/** fx-hosted's own port, to show what the module itself would serve. */
let modulePort: number;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  ({ url, call } = started);
  hubLog = () => started.hub.stderr();
  port = new URL(url).port;
  expect((await install(call, { package: await packFixture('hosted') })).state).toBe('succeeded');
  modulePort = (await running(call, 'fx-hosted')).port as number;
  // The module writes its `uis` at boot; the hub takes the row up within a poll.
  // Only then fx-good: its row is written by the hub, and a module's own
  // read-modify-write at boot (as surface does it) can lose a row written
  // meanwhile, which the hub cannot prevent (the hub's side is in registry.ts).
  await waitFor(
    'the ops gate',
    async () => (await fetch(`${url}/fx-hosted/ops/api`)).status === 401 || undefined,
    30_000,
  ).catch((error) => {
    throw new Error(
      `${error.message}\nservices.json: ${readFileSync(join(started.hub.home, 'services.json'), 'utf8')}\nhub log:\n${hubLog()}`,
    );
  });
  expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
  await running(call, 'fx-good');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await call('POST', '/api/users', { username: USER.username, role: 'user' });
  expect(created.status).toBe(201);
  user = new ApiClient(url);
  await user.login(USER.username, created.json.temporary_password as string);
  const changed = await user.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: USER.password,
  });
  expect(changed.status).toBeLessThan(300);
  browser = await launchBrowser([`--host-resolver-rules=MAP *.parachute.localhost 127.0.0.1`]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
});

/** Opens a hosted UI's page; returns the status of the answer and where the browser ended up. */
async function open(page: Page, base: string, ui: string) {
  const res = await page.goto(`${base}/fx-hosted/${ui}/`);
  return { status: res?.status(), url: page.url(), title: await page.title() };
}

async function userContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(USER.username);
  await page.getByLabel('Password', { exact: true }).fill(USER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.close();
  return context;
}

test('signed out: the public UI opens, every other one sends the browser to sign in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  expect(await open(page, url, 'pub')).toMatchObject({ status: 200, title: 'fx-hosted pub' });
  for (const ui of ['users', 'ops', 'scoped', 'odd']) {
    const seen = await open(page, url, ui);
    expect(seen.url).toBe(`${url}/login?next=${encodeURIComponent(`/fx-hosted/${ui}/`)}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }
  // Signing in comes back to the UI that sent the visitor away.
  await open(page, url, 'users');
  await page.getByLabel('Username').fill(USER.username);
  await page.getByLabel('Password', { exact: true }).fill(USER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/fx-hosted/users/`);
  expect(await page.title()).toBe('fx-hosted users');
  // API clients get JSON, never a redirect; a module's API outside its UIs is not gated.
  const api = await fetch(`${url}/fx-hosted/users/api`);
  expect(api.status).toBe(401);
  expect(api.headers.get('cache-control')).toBe('no-store');
  expect(((await api.json()) as { error: string }).error).toBe('unauthenticated');
  expect((await fetch(`${url}/fx-hosted/echo`)).status).toBe(200);
  await context.close();
}, 60_000);

test('a signed-in user opens the hub-users UIs, but not the operator ones', async () => {
  const context = await userContext();
  const page = await context.newPage();
  for (const ui of ['pub', 'users', 'scoped']) {
    expect(await open(page, url, ui)).toMatchObject({ status: 200, title: `fx-hosted ${ui}` });
  }
  for (const ui of ['ops', 'odd']) {
    const seen = await open(page, url, ui);
    expect(seen.status).toBe(403);
    expect(await page.locator('body').textContent()).toContain(`${USER.username} is not one`);
  }
  const json = await user.get('/fx-hosted/ops/api');
  expect(json.status).toBe(403);
  expect(json.json.error).toBe('not_admin');
  // The hub's cookies still never reach the module.
  const seen = await user.get('/fx-hosted/users/api');
  expect(seen.status).toBe(200);
  expect(JSON.stringify(seen.json.headers)).not.toContain('parachute_');
  await context.close();
}, 60_000);

test('an admin opens every UI', async () => {
  const context = await adminContext(browser, url);
  const page = await context.newPage();
  for (const ui of UIS) {
    expect(await open(page, url, ui)).toMatchObject({ status: 200, title: `fx-hosted ${ui}` });
  }
  await context.close();
}, 60_000);

test('bearer tokens: any hub token for hub-users, the required scopes for scoped, never operator', async () => {
  const operator = (await Bun.file(`${hubs[0]?.home}/operator.token`).text()).trim();
  const get = (path: string, token: string) =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect((await get('/fx-hosted/users/api', operator)).status).toBe(200);
  const noScope = await get('/fx-hosted/scoped/api', operator);
  expect(noScope.status).toBe(403);
  expect(await noScope.json()).toMatchObject({ error: 'insufficient_scope' });
  expect((await get('/fx-hosted/ops/api', operator)).status).toBe(401);

  const scoped = await oauthToken('fx-hosted:read');
  const ok = await get('/fx-hosted/scoped/api', scoped);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ ui: 'scoped' });
  // Not the hub's: refused, whatever it claims.
  const [h, p] = scoped.split('.');
  for (const forged of [`${h}.${p}.AAAA`, 'not-a-jwt', `${h}.${p}.`]) {
    const res = await get('/fx-hosted/scoped/api', forged);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  }
  // A browser with a token is an API client: JSON, not a sign-in redirect.
  const html = await fetch(`${url}/fx-hosted/users/`, {
    headers: { authorization: 'Bearer nope', accept: 'text/html' },
    redirect: 'manual',
  });
  expect(html.status).toBe(401);
}, 60_000);

test('encodings a lenient module reads as the gated path do not get around the gate', async () => {
  // The module itself serves the ops page for each of these (it decodes and lowercases).
  const paths = [
    '/fx-hosted/OPS/api',
    '/fx-hosted//ops/api',
    '/fx-hosted/%6Fps/api',
    '/fx-hosted/pub/..%2Fops/api',
    '/fx-hosted/pub/%2e%2e%2fops/api',
    '/fx-hosted/pub%5C..%5Cops/api',
  ];
  for (const path of paths) {
    const direct = await fetch(`http://127.0.0.1:${modulePort}${path}`);
    expect(((await direct.json()) as { ui: string }).ui).toBe('ops');
    const viaHub = await user.get(path);
    expect({ path, status: viaHub.status }).toEqual({ path, status: 403 });
    expect((await fetch(`${url}${path}`)).status).toBe(401);
  }
}, 30_000);

test('a WebSocket under a gated UI needs the same sign-in', async () => {
  const refused = await wsOpens(`ws://127.0.0.1:${port}/fx-hosted/users/ws`, {});
  expect(refused).toBeNull();
  const cookie = [...user.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const first = await wsOpens(`ws://127.0.0.1:${port}/fx-hosted/users/ws`, { cookie });
  expect(first).toMatchObject({ ui: 'users' });
  expect(await wsOpens(`ws://127.0.0.1:${port}/fx-hosted/ops/ws`, { cookie })).toBeNull();
}, 30_000);

test('a row cannot gate another module: its operator UI on fx-good paths is ignored', async () => {
  const res = await fetch(`${url}/fx-good/echo/x`);
  // Seen once in CI as a 404 within a millisecond: say who answered, should it happen again.
  const seen = { status: res.status, body: res.ok ? '' : (await res.text()).slice(0, 300) };
  if (!res.ok) console.error(hubLog().slice(-3000));
  expect(seen).toEqual({ status: 200, body: '' });
});

test('the row problems are logged once each, and the module stays routable', async () => {
  const log = hubLog();
  const odd =
    'uis.odd: audience "friends" is not one of public, hub-users, operator, surface; only admins may open it';
  expect(log.split(odd).length - 1).toBe(1);
  expect(log).toContain(
    'services.json row "parachute-fixture-hosted": uis.elsewhere: path /fx-good is outside this row\'s mounts (/fx-hosted); not gated',
  );
  const modules = (await call('GET', '/api/modules')).json.modules as {
    module: string;
    uis: { slug: string; status: string; audience: string }[];
  }[];
  const hosted = modules.find((m) => m.module === 'fx-hosted');
  expect(hosted?.uis.map((u) => [u.slug, u.status, u.audience])).toEqual([
    ['pub', 'active', 'public'],
    ['users', 'pending', 'hub-users'],
    ['ops', 'active', 'operator'],
    ['scoped', 'active', 'hub-users'],
    ['odd', 'active', 'operator'],
  ]);
});

test('modules get X-Parachute-Layer and X-Parachute-Client-IP as the hub saw them, never as a visitor sent them', async () => {
  const forged =
    'X-Parachute-Layer: loopback\r\nx-parachute-client-ip: 6.6.6.6\r\nX-PARACHUTE-LAYER: tailnet\r\n';
  // From this machine, with nothing relayed: loopback; the address is the peer's.
  let seen = await rawEcho(forged);
  expect(seen['x-parachute-layer']).toBe('loopback');
  expect(seen['x-parachute-client-ip']).toBe('127.0.0.1');
  // Relayed (a local reverse proxy, a tunnel): it may come from anywhere, so public.
  seen = await rawEcho(`${forged}X-Forwarded-For: 127.0.0.1\r\n`);
  expect(seen['x-parachute-layer']).toBe('public');
  expect(seen['x-parachute-client-ip']).toBe('127.0.0.1');
  seen = await rawEcho(`${forged}Forwarded: for=127.0.0.1\r\n`);
  expect(seen['x-parachute-layer']).toBe('public');
  // The same on a WebSocket upgrade.
  const ws = await wsOpens(`ws://127.0.0.1:${port}/fx-hosted/pub/ws`, {
    'x-parachute-layer': 'loopback',
    'x-parachute-client-ip': '6.6.6.6',
    'x-forwarded-host': 'evil.example',
  });
  expect(ws?.headers).toMatchObject({
    'x-parachute-layer': 'public',
    'x-parachute-client-ip': '127.0.0.1',
  });
}, 30_000);

test('behind a trusted proxy, X-Parachute-Client-IP is the client the proxy names', async () => {
  const proxied = await hubWithOperator(hubs, { PARACHUTE_TRUSTED_PROXIES: '127.0.0.1' });
  const installed = await install(proxied.call, { package: await packFixture('hosted') });
  expect(installed.state).toBe('succeeded');
  await running(proxied.call, 'fx-hosted');
  const proxyPort = new URL(proxied.url).port;
  const forged = 'X-Parachute-Layer: loopback\r\nX-Parachute-Client-IP: 6.6.6.6\r\n';
  // The proxy appended the address it saw; what the client wrote to its left is not believed.
  let seen = await rawEcho(`${forged}X-Forwarded-For: 10.9.9.9, 198.51.100.7\r\n`, proxyPort);
  expect(seen['x-parachute-client-ip']).toBe('198.51.100.7');
  // Whatever comes through a proxy may come from anywhere.
  expect(seen['x-parachute-layer']).toBe('public');
  seen = await rawEcho(forged, proxyPort);
  expect(seen['x-parachute-layer']).toBe('public');
  expect(seen['x-parachute-client-ip']).toBe('127.0.0.1');
}, 60_000);

test('PARACHUTE_HUB_ORIGINS lists the module own origin while an apps domain is in force', async () => {
  const env = async () =>
    (await (await fetch(`${url}/fx-hosted/env`)).json()) as {
      pid: number;
      PARACHUTE_HUB_ORIGIN: string;
      PARACHUTE_HUB_ORIGINS: string;
    };
  const before = await env();
  expect(before.PARACHUTE_HUB_ORIGIN).toBe(url);
  expect(before.PARACHUTE_HUB_ORIGINS.split(',')).toContain(url);
  expect(before.PARACHUTE_HUB_ORIGINS).not.toContain(APPS);

  const own = `http://fx-hosted.${APPS}:${port}`;
  expect((await call('PUT', '/api/hub/apps-domain', { apps_domain: APPS })).status).toBe(200);
  // The module is restarted so it learns it (a new process with the new list).
  const after = await waitFor(
    'fx-hosted restarted with its own origin',
    async () => {
      const res = await fetch(`${url}/fx-hosted/env`).catch(() => null);
      if (res?.status !== 200) return undefined;
      const seen = (await res.json()) as Awaited<ReturnType<typeof env>>;
      return seen.pid !== before.pid ? seen : undefined;
    },
    20_000,
  );
  expect(after.PARACHUTE_HUB_ORIGIN).toBe(url);
  expect(after.PARACHUTE_HUB_ORIGINS.split(',')).toEqual([
    ...before.PARACHUTE_HUB_ORIGINS.split(','),
    own,
  ]);
  await running(call, 'fx-hosted');
}, 60_000);

test('on the module own origin, a signed-out visitor of a gated UI signs in through the hub and comes back', async () => {
  // The previous test set the apps domain.
  const moduleUrl = `http://fx-hosted.${APPS}:${port}`;
  await waitFor(
    'the ops gate again',
    async () => (await fetch(`${url}/fx-hosted/ops/api`)).status === 401 || undefined,
  );
  const context = await browser.newContext();
  const page = await context.newPage();
  expect(await open(page, moduleUrl, 'pub')).toMatchObject({ status: 200, title: 'fx-hosted pub' });
  const redirects: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 302) redirects.push(r.headers().location ?? '');
  });
  await page.goto(`${moduleUrl}/fx-hosted/ops/`);
  expect(redirects[0]).toBe(
    `/api/module-session/start?next=${encodeURIComponent('/fx-hosted/ops/')}`,
  );
  // The hub's sign-in page, on the hub's origin; then back to the module's page.
  expect(page.url()).toStartWith(`${url}/login?next=`);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${moduleUrl}/fx-hosted/ops/`);
  expect(await page.title()).toBe('fx-hosted ops');
  // The module session counts only on its own origin: the hub's origin still asks (JSON for fetches).
  const cookies = await context.cookies(moduleUrl);
  const session = cookies.find((c) => c.name === 'parachute_module_session');
  expect(session).toBeDefined();
  const onHub = await fetch(`${url}/fx-hosted/ops/api`, {
    headers: { cookie: `parachute_module_session=${session?.value}` },
  });
  expect(onHub.status).toBe(401);
  await context.close();
  expect((await call('PUT', '/api/hub/apps-domain', { apps_domain: null })).status).toBe(200);
}, 60_000);

/** Sends a GET for /fx-hosted/echo on a raw socket with `extra` header lines; returns the headers the module saw. */
function rawEcho(extra: string, hubPort = port): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(hubPort), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(data.slice(0, end))?.[1] ?? -1);
      if (length >= 0 && data.length >= end + 4 + length) {
        socket.destroy();
        resolve(JSON.parse(data.slice(end + 4, end + 4 + length)).headers);
      }
    });
    socket.on('error', reject);
    socket.write(
      `GET /fx-hosted/echo HTTP/1.1\r\nHost: 127.0.0.1:${hubPort}\r\n${extra}Connection: close\r\n\r\n`,
    );
  });
}

/** Opens a WebSocket with these headers; resolves with its first message (JSON), or null if it never opens. */
function wsOpens(
  target: string,
  headers: Record<string, string>,
): Promise<{ ui: string; headers: Record<string, string> } | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(target, { headers } as unknown as string[]);
    const timer = setTimeout(() => {
      ws.close();
      resolve(null);
    }, 10_000);
    ws.onmessage = (event) => {
      clearTimeout(timer);
      ws.close();
      resolve(JSON.parse(String(event.data)));
    };
    ws.onerror = () => {
      clearTimeout(timer);
      resolve(null);
    };
  });
}

/** A token for `scope` through the OAuth flow: registration, the admin's consent, the code exchange. */
async function oauthToken(scope: string): Promise<string> {
  const registered = await fetch(`${url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: 'Hosted UI test' }),
  });
  const clientId = ((await registered.json()) as { client_id: string }).client_id;
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const challenge = new Bun.CryptoHasher('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st',
    scope,
  });
  const authorized = await admin.get(`/oauth/authorize?${query}`);
  let location = authorized.headers.get('location') ?? '';
  if (location.startsWith('/admin/consent?request=')) {
    const id = new URL(location, url).searchParams.get('request');
    const answer = await admin.post(`/api/oauth/requests/${id}`, { decision: 'approve' });
    location = answer.json.redirect as string;
  }
  const code = new URL(location).searchParams.get('code') ?? '';
  const token = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}
