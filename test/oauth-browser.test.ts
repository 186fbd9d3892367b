import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'bun';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  install,
  type OperatorCall,
  operatorClient,
  running,
  SEED,
  trackHubs,
} from './helpers/modules.ts';

// The consent screen and Connected apps page, driven in Chromium against the
// real binary: an app registers (RFC 7591), the browser walks the
// authorization code flow (OAuth 2.1 + PKCE), and a tiny server stands in
// for the app's loopback callback (RFC 8252).

const hubs = trackHubs();
let url: string;
let call: OperatorCall;
let browser: Browser;
/** The admin, signed in once; pages that act as the admin open here. */
let admin: BrowserContext;
/** The admin's API session (the /api/oauth/* routes take a session, not the operator token). */
let adminApi: ApiClient;
let callback: Server<undefined>;
/** Every request the callback server received, newest last. */
const arrivals: URL[] = [];

beforeAll(async () => {
  // An externally run vault with two instances, so the broad `vault:read` needs a choice.
  const home = mkdtempSync(join(tmpdir(), 'parachute-oauth-browser-'));
  writeFileSync(
    join(home, 'services.json'),
    JSON.stringify({
      services: [
        {
          name: 'parachute-vault',
          port: 1992,
          paths: ['/vault/default', '/vault/work'],
          health: '/health',
          version: '0.4.1',
        },
      ],
    }),
  );
  const started = await freshHub(SEED, home);
  hubs.push(started.hub);
  url = started.url;
  call = operatorClient(url, home);
  // fx-good defines the scope fx-good:read.
  expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
  await running(call, 'fx-good');

  adminApi = new ApiClient(url);
  await adminApi.login(ADMIN.username, ADMIN.password);

  callback = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      arrivals.push(new URL(req.url));
      return new Response('<!doctype html><title>App</title><h1>Back in the app</h1>', {
        headers: { 'content-type': 'text/html' },
      });
    },
  });

  browser = await launchBrowser();
  admin = await browser.newContext();
  const page = await admin.newPage();
  await page.goto(`${url}/login`);
  await signIn(page, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  callback?.stop(true);
});

/**
 * Chromium logs every error answer to fetch() as "Failed to load resource";
 * 4xx ones are expected here (401 before signing in, 404 for a request that
 * is gone). Anything else, CSP violations above all, counts.
 */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) => !/^Failed to load resource: the server responded with a status of 4\d\d\b/.test(text),
  );
}

/** Screenshots for a human to look at, only when SCREENSHOT_DIR is set. */
async function shot(page: Page, name: string) {
  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

function redirectUri(): string {
  return `http://127.0.0.1:${callback.port}/cb`;
}

/** Registers a public client as an MCP client would; returns its client_id. */
async function register(clientName: string): Promise<string> {
  const res = await fetch(`${url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: clientName,
      redirect_uris: [redirectUri()],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** A PKCE pair (RFC 7636 §4.1-4.2, S256). */
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(clientId: string, challenge: string, scope: string): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri(),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'xyz',
    scope,
  });
  return `${url}/oauth/authorize?${params}`;
}

/**
 * Waits until the browser in `page` is back in the app: the callback server
 * got its request (the `count`th in all) and the page has loaded, so the
 * next navigation cannot race the redirect. Returns the callback's URL.
 */
async function backInApp(page: Page, count: number): Promise<URL> {
  const arrived = await waitFor(`callback #${count}`, () =>
    arrivals.length >= count ? arrivals[count - 1] : undefined,
  );
  await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
  return arrived;
}

/** Trades a code for tokens, as the app would (form-encoded, RFC 6749 §4.1.3). */
async function exchange(clientId: string, code: string, verifier: string) {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: clientId,
      code_verifier: verifier,
    }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function refresh(clientId: string, refreshToken: string) {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: clientId,
    }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface OAuthClientRow {
  client_id: string;
  status: string;
}

function scopeClaim(accessToken: string): string {
  const [, payload = ''] = accessToken.split('.');
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { scope: string }).scope;
}

test('approving: the consent page names the app and its access, the app gets a code, the grant can be revoked', async () => {
  const clientId = await register('Test App');
  const { verifier, challenge } = pkce();
  const page = await admin.newPage();
  const errors = collectPageErrors(page);

  const consent = await page.goto(authorizeUrl(clientId, challenge, 'fx-good:read'));
  await page
    .getByRole('heading', { name: 'Test App wants to access your Parachute hub' })
    .waitFor();
  // The consent screen is the SPA shell, which no other site may frame.
  expect(new URL(consent?.url() ?? '').pathname).toBe('/admin/consent');
  expect(consent?.headers()['x-frame-options']).toBe('DENY');
  expect(consent?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");

  await page.getByText('This app has not been connected before').waitFor();
  expect(await page.getByTestId('consent-username').textContent()).toBe(ADMIN.username);
  expect(await page.getByTestId('consent-redirect-host').textContent()).toBe(
    `127.0.0.1:${callback.port}`,
  );
  const access = page.getByRole('list', { name: 'Requested access' });
  expect(await access.getByRole('listitem').count()).toBe(1);
  await access.getByText('Read your Fixture: good data').waitFor();
  await access.getByText('fx-good:read').waitFor();
  await shot(page, 'consent');

  const before = arrivals.length;
  await page.getByRole('button', { name: 'Approve' }).click();
  const back = await backInApp(page, before + 1);
  expect(back.pathname).toBe('/cb');
  expect(back.searchParams.get('code')).toBeTruthy();
  expect(back.searchParams.get('state')).toBe('xyz');
  expect(back.searchParams.get('iss')).toBe(url);

  const tokens = await exchange(clientId, back.searchParams.get('code') ?? '', verifier);
  expect(tokens.status).toBe(200);
  expect(scopeClaim(tokens.json.access_token as string)).toBe('fx-good:read');

  // The grant, its one session, and the app itself (now approved) on Connected apps.
  await page.goto(`${url}/admin/apps`);
  await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
  const grant = page.getByRole('list', { name: 'Connected apps' }).getByRole('listitem', {
    name: 'Test App',
  });
  await grant.getByText('fx-good:read').waitFor();
  await grant.getByText(ADMIN.username, { exact: true }).waitFor();
  expect(await grant.getByTestId('grant-token').count()).toBe(1);
  const client = page.getByRole('list', { name: 'Registered apps' }).getByRole('listitem', {
    name: 'Test App',
  });
  expect(await client.getByTestId('client-status').textContent()).toBe('Approved');
  await shot(page, 'connected-apps');

  // Revoking the session ends the app's refresh token; the grant stays.
  await grant.getByRole('button', { name: 'Revoke' }).click();
  await grant.getByText('No active sessions').waitFor();
  expect((await refresh(clientId, tokens.json.refresh_token as string)).json.error).toBe(
    'invalid_grant',
  );

  // Disconnecting asks first, then removes the grant.
  await grant.getByRole('button', { name: 'Disconnect' }).click();
  await grant.getByText('Disconnect Test App?').waitFor();
  await grant.getByRole('button', { name: 'Yes, disconnect' }).click();
  await grant.waitFor({ state: 'detached' });
  await page.getByText('No apps are connected yet.').waitFor();

  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('the consent page shows exactly what will be granted, and what was asked for but will not be', async () => {
  const clientId = await register('Greedy App');
  const { challenge } = pkce();
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(
    authorizeUrl(clientId, challenge, 'fx-good:read parachute:host:admin nothing:write'),
  );
  await page
    .getByRole('heading', { name: 'Greedy App wants to access your Parachute hub' })
    .waitFor();
  const access = page.getByRole('list', { name: 'Requested access' });
  expect(await access.getByRole('listitem').count()).toBe(1);
  await access.getByText('fx-good:read').waitFor();
  await page.getByText('Also asked for 2 things this hub will not grant').click();
  const refused = page.getByRole('list', { name: 'Not granted' });
  await refused.getByText('parachute:host:admin').waitFor();
  await refused.getByText('no installed module defines it').waitFor();
  await shot(page, 'consent-narrowed');
  // On a phone, in dark mode, long scope names wrap instead of widening the page.
  await page.setViewportSize({ width: 360, height: 780 });
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(
    true,
  );
  await shot(page, 'consent-narrowed-phone-dark');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('denying sends the app access_denied and records nothing', async () => {
  const clientId = await register('Deny App');
  const { challenge } = pkce();
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(authorizeUrl(clientId, challenge, 'fx-good:read'));
  await page
    .getByRole('heading', { name: 'Deny App wants to access your Parachute hub' })
    .waitFor();

  const before = arrivals.length;
  await page.getByRole('button', { name: 'Deny' }).click();
  const back = await backInApp(page, before + 1);
  expect(back.searchParams.get('error')).toBe('access_denied');
  expect(back.searchParams.get('state')).toBe('xyz');
  expect(back.searchParams.get('code')).toBeNull();

  // No grant, and the app is still waiting for approval.
  const { grants } = (await adminApi.get('/api/oauth/grants')).json as {
    grants: { client_id: string }[];
  };
  expect(grants.filter((g) => g.client_id === clientId)).toEqual([]);
  await page.goto(`${url}/admin/apps`);
  const card = page
    .getByRole('list', { name: 'Registered apps' })
    .getByRole('listitem', { name: 'Deny App' });
  expect(await card.getByTestId('client-status').textContent()).toBe('Waiting for approval');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('a request that is gone, or already answered, says so', async () => {
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/consent?request=no-such-request`);
  await page
    .getByText(
      'This request has expired or was already answered. Go back to the app and connect again.',
    )
    .waitFor();
  expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

  // Answered in another tab: the second answer finds it gone.
  const clientId = await register('Twice App');
  await page.goto(authorizeUrl(clientId, pkce().challenge, 'fx-good:read'));
  await page
    .getByRole('heading', { name: 'Twice App wants to access your Parachute hub' })
    .waitFor();
  const other = await admin.newPage();
  await other.goto(page.url());
  const before = arrivals.length;
  await other.getByRole('button', { name: 'Deny' }).click();
  await backInApp(other, before + 1);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('This request has expired or was already answered').waitFor();
  expect(unexpected(errors)).toEqual([]);
  await page.close();
  await other.close();
}, 30_000);

test('signed out: the app’s link leads through sign-in to the consent page', async () => {
  const clientId = await register('Signed Out App');
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(authorizeUrl(clientId, pkce().challenge, 'fx-good:read'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, ADMIN.username, ADMIN.password);
  await page
    .getByRole('heading', { name: 'Signed Out App wants to access your Parachute hub' })
    .waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/consent');
  expect(unexpected(errors)).toEqual([]);
  await context.close();
}, 30_000);

test('the broad vault:read asks which vaults; only the picked ones are granted', async () => {
  const clientId = await register('Vault App');
  const { verifier, challenge } = pkce();
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(authorizeUrl(clientId, challenge, 'vault:read'));
  await page
    .getByRole('heading', { name: 'Vault App wants to access your Parachute hub' })
    .waitFor();
  const picker = page.getByRole('group', { name: 'Which vaults may it read?' });
  // Two vaults: nothing is ticked for the user, and approving with none is refused.
  expect(await picker.getByRole('checkbox', { name: /default/ }).isChecked()).toBe(false);
  expect(await picker.getByRole('checkbox', { name: /work/ }).isChecked()).toBe(false);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('alert').getByText('Pick at least one vault').waitFor();
  await shot(page, 'consent-vaults');

  await picker.getByRole('checkbox', { name: /work/ }).check();
  const before = arrivals.length;
  await page.getByRole('button', { name: 'Approve' }).click();
  const back = await backInApp(page, before + 1);
  const tokens = await exchange(clientId, back.searchParams.get('code') ?? '', verifier);
  expect(tokens.status).toBe(200);
  expect(scopeClaim(tokens.json.access_token as string)).toBe('vault:work:read');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('the admin approves, denies and deletes registered apps', async () => {
  const clientId = await register('Waiting App');
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/apps`);
  const registered = page.getByRole('list', { name: 'Registered apps' });
  // Apps waiting for approval come first.
  await registered.getByRole('listitem', { name: 'Waiting App' }).waitFor();
  expect(await registered.getByTestId('client-status').first().textContent()).toBe(
    'Waiting for approval',
  );
  const card = registered.getByRole('listitem', { name: 'Waiting App' });
  await card.getByRole('button', { name: 'Approve' }).click();
  await card.getByTestId('client-status').getByText('Approved').waitFor();
  // Denying an approved app ends its users' sessions, so it asks first.
  await card.getByRole('button', { name: 'Deny' }).click();
  await card.getByRole('button', { name: 'Yes, deny' }).click();
  await card.getByTestId('client-status').getByText('Denied').waitFor();
  const listed = async () =>
    ((await adminApi.get('/api/oauth/clients')).json.clients as OAuthClientRow[]).find(
      (c) => c.client_id === clientId,
    );
  expect((await listed())?.status).toBe('denied');

  // A denied app is turned away at once, without a consent page.
  const before = arrivals.length;
  const denied = await admin.newPage();
  await denied.goto(authorizeUrl(clientId, pkce().challenge, 'fx-good:read'));
  expect((await backInApp(denied, before + 1)).searchParams.get('error')).toBe('access_denied');
  await denied.close();

  await card.getByRole('button', { name: 'Delete' }).click();
  await card.getByRole('button', { name: 'Yes, delete' }).click();
  await card.waitFor({ state: 'detached' });
  expect(await listed()).toBeUndefined();
  expect(unexpected(errors)).toEqual([]);
  await page.close();

  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('a user with one vault finds it ticked, and sees only their own grants', async () => {
  const created = await call('POST', '/api/users', { username: 'bob', role: 'user' });
  expect(created.status).toBe(201);
  const bobId = (created.json.user as { id: string }).id;
  expect((await call('PUT', `/api/users/${bobId}/vaults`, { vaults: ['work'] })).status).toBe(200);
  const clientId = await register('Bob App');
  const { verifier, challenge } = pkce();

  // Signed out, with the temporary password: sign in, replace it, then the consent page.
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(authorizeUrl(clientId, challenge, 'vault:read'));
  await signIn(page, 'bob', created.json.temporary_password as string);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  const password = 'bob chose this password';
  await page.getByLabel('Current password').fill(created.json.temporary_password as string);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Confirm new password').fill(password);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('heading', { name: 'Bob App wants to access your Parachute hub' }).waitFor();
  expect(await page.getByTestId('consent-username').textContent()).toBe('bob');

  // Bob holds one vault: it is the only choice, and already ticked.
  const picker = page.getByRole('group', { name: 'Which vaults may it read?' });
  expect(await picker.getByRole('checkbox').count()).toBe(1);
  expect(await picker.getByRole('checkbox', { name: /work/ }).isChecked()).toBe(true);
  const before = arrivals.length;
  await page.getByRole('button', { name: 'Approve' }).click();
  const back = await backInApp(page, before + 1);
  const tokens = await exchange(clientId, back.searchParams.get('code') ?? '', verifier);
  expect(scopeClaim(tokens.json.access_token as string)).toBe('vault:work:read');

  // Only Bob's grant (not the admin's Vault App), without a user column or registered apps.
  await page.goto(`${url}/admin/apps`);
  const grants = page.getByRole('list', { name: 'Connected apps' });
  const grant = grants.getByRole('listitem', { name: 'Bob App' });
  await grant.getByText('vault:work:read').waitFor();
  expect(await grants.getByRole('listitem', { name: 'Vault App' }).count()).toBe(0);
  expect(await grant.getByText('User', { exact: true }).count()).toBe(0);
  expect(await page.getByRole('heading', { name: 'Registered apps' }).count()).toBe(0);
  await shot(page, 'connected-apps-user');

  // The admin sees Bob's grant, named as his.
  const adminPage = await admin.newPage();
  await adminPage.goto(`${url}/admin/apps`);
  const bobsGrant = adminPage
    .getByRole('list', { name: 'Connected apps' })
    .getByRole('listitem', { name: 'Bob App' });
  await bobsGrant.getByText('bob', { exact: true }).waitFor();
  await adminPage.close();

  expect(unexpected(errors)).toEqual([]);
  await context.close();
}, 30_000);
