import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN } from './helpers/api.ts';
import { launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  adminContext,
  expectHubIntact,
  hubCookies,
  runAttacks,
  usernames,
} from './helpers/module-attacks.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

// Each module on its own origin (modules.md section 7), in Chromium against
// the real binary. The hub is `hub.parachute.localhost` and the apps domain
// `apps.parachute.localhost`: one site, as hub.example.com and
// vault.apps.example.com would be, so the hub's SameSite=Lax cookies do
// travel with a module page's requests to the hub, and `.localhost` names
// are secure contexts (service workers) that Chromium resolves to loopback.

const APPS = 'apps.parachute.localhost';
const hubs = trackHubs();
/** The hub on 127.0.0.1, for the operator's API calls. */
let url: string;
/** The hub's origin as browsers use it. */
let hubUrl: string;
let port: string;
let call: OperatorCall;
let browser: Browser;

const moduleUrl = (module: string) => `http://${module}.${APPS}:${port}`;

beforeAll(async () => {
  ({ url, call } = await hubWithOperator(hubs, { PARACHUTE_APPS_DOMAIN: APPS }));
  port = new URL(url).port;
  hubUrl = `http://hub.parachute.localhost:${port}`;
  expect((await call('PUT', '/api/hub/origin', { origin: hubUrl })).status).toBe(200);
  for (const fixture of ['ui', 'evil'] as const) {
    expect((await install(call, { package: await packFixture(fixture) })).state).toBe('succeeded');
  }
  await running(call, 'fx-ui');
  await running(call, 'fx-evil');
  browser = await launchBrowser([`--host-resolver-rules=MAP *.parachute.localhost 127.0.0.1`]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
});

/** Waits for fx-ui's page script and returns what it reported. */
async function uiResults(page: Page): Promise<Record<string, string>> {
  await page.waitForFunction(() => document.title === 'ui done', undefined, { timeout: 20_000 });
  return JSON.parse((await page.locator('#results').textContent()) ?? '{}');
}

test('a module page opened on the hub origin is sent to its own origin, where every attack fails', async () => {
  const context = await adminContext(browser, hubUrl);
  const before = await hubCookies(context, hubUrl);
  const page = await context.newPage();
  // Signed in to its own origin too: a session for itself gives it nothing of the hub's.
  await page.goto(`${moduleUrl('fx-evil')}/api/module-session/start?next=/api/module-session`);
  expect(await page.locator('body').textContent()).toContain('"module":"fx-evil"');

  const results = await runAttacks(page, `${hubUrl}/fx-evil/?run=apps`);
  expect(page.url()).toBe(`${moduleUrl('fx-evil')}/fx-evil/?run=apps`);
  expect(results.cookie).not.toContain('parachute_');
  expect(await usernames(call)).not.toContain('mallory-apps');
  expect(results.session.join(' ')).not.toContain('"username"');
  // Signed in to its own origin, it gets its own module's token, and no other:
  // not fx-ui's, not the hub's, not through mint-token or OAuth (the page
  // reports any answer with a token as TOKEN; four tries per origin ran).
  expect(results.own[0]).toBe('TOKEN 200 {"aud":"fx-evil","scope":"fx-evil:admin"}');
  expect(results.own[1]).toStartWith('threw');
  expect(results.mint).toHaveLength(8);
  expect(results.mint.join(' ')).not.toContain('TOKEN');
  expect(results.mint).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^page origin module-token\/fx-ui: 403 .*"wrong_module"/),
      expect.stringMatching(/^page origin host-admin-token: 403 .*"wrong_module"/),
    ]),
  );
  expect(results.serviceWorker).toEqual([
    'refused /: SecurityError',
    'refused /admin/: SecurityError',
    'refused / from the mount path: SecurityError',
    'refused / from the mount path as text/plain: SecurityError',
    'refused / from the mount path as none: SecurityError',
  ]);
  // Its origin has no admin UI and no admin API, with or without its session.
  expect((await page.goto(`${moduleUrl('fx-evil')}/admin/`))?.status()).toBe(404);
  expect((await page.goto(`${moduleUrl('fx-evil')}/api/users`))?.status()).toBe(404);
  expect((await page.goto(`${moduleUrl('fx-evil')}/fx-ui/`))?.status()).toBe(404);
  await expectHubIntact(context, hubUrl, before);
  await context.close();
}, 60_000);

test('an ordinary module UI works on its own origin, with a session for itself alone', async () => {
  const context = await adminContext(browser, hubUrl);
  const page = await context.newPage();
  await page.goto(`${hubUrl}/fx-ui/`);
  let results = await uiResults(page);
  expect(page.url()).toBe(`${moduleUrl('fx-ui')}/fx-ui/`);
  expect(results.storage).toBe('kept');
  expect(results.serviceWorker).toBe('answered by the service worker');
  expect(results.session).toStartWith('401 ');

  // Signing in to the module's origin goes through the hub and back.
  await page.goto(`${moduleUrl('fx-ui')}/api/module-session/start?next=/fx-ui/`);
  results = await uiResults(page);
  expect(page.url()).toBe(`${moduleUrl('fx-ui')}/fx-ui/`);
  expect(JSON.parse((results.session ?? '').slice(4))).toMatchObject({
    module: 'fx-ui',
    user: { username: 'admin', role: 'admin' },
  });
  const cookies = await context.cookies(moduleUrl('fx-ui'));
  const session = cookies.find((c) => c.name === 'parachute_module_session');
  // Host-only (no Domain, so no leading dot) and out of the page's reach.
  expect(session).toMatchObject({ domain: `fx-ui.${APPS}`, httpOnly: true });

  // It is fx-ui's alone: on fx-evil's origin, and on the hub's, it is nobody.
  const asEvil = await fetch(`${url}/api/module-session`, {
    headers: {
      host: `fx-evil.${APPS}:${port}`,
      cookie: `parachute_module_session=${session?.value}`,
    },
  });
  expect(asEvil.status).toBe(401);
  const asHub = await fetch(`${url}/api/auth/session`, {
    headers: { cookie: `parachute_session=${session?.value}` },
  });
  expect(asHub.status).toBe(401);

  // Signing out of the hub ends it.
  const admin = await context.newPage();
  await admin.goto(`${hubUrl}/admin/`);
  await admin.getByRole('button', { name: 'Sign out' }).click();
  await admin.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  expect((await uiResults(page)).session).toStartWith('401 ');

  // Signed out of the hub, the module's sign-in asks for the password first, then comes back.
  await page.goto(`${moduleUrl('fx-ui')}/api/module-session/start?next=/fx-ui/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${moduleUrl('fx-ui')}/fx-ui/`);
  expect((await uiResults(page)).session).toStartWith('200 ');
  await context.close();
}, 60_000);

test('the apps domain is a setting the admin can change, checked like the origin', async () => {
  const bad = await call('PUT', '/api/hub/apps-domain', {
    apps_domain: 'https://apps.example.com',
  });
  expect(bad.status).toBe(400);
  const set = await call('PUT', '/api/hub/apps-domain', { apps_domain: `*.${APPS}` });
  expect(set.json).toEqual({ apps_domain: APPS, source: 'settings', active: true });
  // Cleared, the environment's value applies again.
  const cleared = await call('PUT', '/api/hub/apps-domain', { apps_domain: null });
  expect(cleared.json).toEqual({
    apps_domain: APPS,
    source: 'PARACHUTE_APPS_DOMAIN',
    active: true,
  });
  const modules = (await call('GET', '/api/modules/isolation')).json.modules as {
    module: string;
    mode: string;
    origin: string;
  }[];
  expect(modules.find((m) => m.module === 'fx-ui')).toMatchObject({
    mode: 'own-origin',
    origin: moduleUrl('fx-ui'),
  });
});

test("the admin UI names each module's own origin, at install and on its entry", async () => {
  const context = await adminContext(browser, hubUrl);
  const page = await context.newPage();
  await page.goto(`${hubUrl}/admin/modules`);
  expect(await page.getByTestId('install-browser').textContent()).toContain(
    `own origin under ${APPS}`,
  );
  const ui = page
    .getByRole('list', { name: 'Installed modules' })
    .getByRole('listitem', { name: 'Fixture: UI' });
  expect(await ui.getByTestId('module-browser').textContent()).toContain(moduleUrl('fx-ui'));
  expect(await ui.getByRole('link', { name: '/fx-ui' }).getAttribute('href')).toBe(
    `${moduleUrl('fx-ui')}/fx-ui/`,
  );
  await context.close();
}, 60_000);
