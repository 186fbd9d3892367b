import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
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

// Modules on the hub's own origin (no apps domain), in Chromium against the
// real binary (modules.md section 7): fx-evil's page attacks the signed-in
// admin, first while the admin has marked it isolated, then trusted; fx-ui
// is an ordinary module UI that needs storage and a service worker.

const hubs = trackHubs();
let url: string;
let call: OperatorCall;
let browser: Browser;

beforeAll(async () => {
  ({ url, call } = await hubWithOperator(hubs));
  for (const fixture of ['ui', 'evil'] as const) {
    expect((await install(call, { package: await packFixture(fixture) })).state).toBe('succeeded');
  }
  await running(call, 'fx-ui');
  await running(call, 'fx-evil');
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
});

async function isolate(isolated: boolean) {
  const res = await call('POST', '/api/modules/fx-evil/isolation', { isolated });
  expect(res.status).toBe(200);
  expect(res.json.isolated).toBe(isolated);
}

test('an isolated module page cannot act as the admin, take over /admin or sign anyone out', async () => {
  // Marked before anyone opens it: a page that ran trusted once could have left a worker behind.
  await isolate(true);
  const context = await adminContext(browser, url);
  const before = await hubCookies(context, url);
  const page: Page = await context.newPage();
  const response = await page.goto(`${url}/fx-evil/`);
  expect(response?.headers()['content-security-policy']).toContain('sandbox');
  const results = await runAttacks(page, `${url}/fx-evil/?run=isolated`);

  // Its documents have an opaque origin: no cookies, no same-origin requests.
  expect(results.cookie).toStartWith('threw');
  expect(await usernames(call)).not.toContain('mallory-isolated');
  expect(results.session.join(' ')).not.toContain('"username"');
  // Not one token: its own module's, fx-ui's, the hub's, minted or through OAuth
  // (the page reports any answer with a token as TOKEN; four tries per origin ran).
  expect(results.own.join(' ')).not.toContain('TOKEN');
  expect(results.mint).toHaveLength(8);
  expect(results.mint.join(' ')).not.toContain('TOKEN');
  expect(results.serviceWorker.join(' ')).not.toContain('registered');
  await expectHubIntact(context, url, before);
  await context.close();
}, 60_000);

test('a trusted module page acts as the admin, but still cannot take over /admin or sign anyone out', async () => {
  await isolate(false);
  const context = await adminContext(browser, url);
  const before = await hubCookies(context, url);
  const results = await runAttacks(await context.newPage(), `${url}/fx-evil/?run=trusted`);

  // Admin-equivalent in the browser, as README's threat model says: the same
  // attacks that failed above succeed here.
  expect(await usernames(call)).toContain('mallory-trusted');
  expect(results.session.join(' ')).toContain('"username":"admin"');
  // Every token the admin could get, it gets: any module's through the
  // cookie mint, the hub's own (parachute:host:admin), with that one any
  // module scope through POST /api/auth/mint-token, and OAuth consent.
  expect(results.own).toEqual(Array(2).fill('TOKEN 200 {"aud":"fx-evil","scope":"fx-evil:admin"}'));
  for (const at of ['page origin', url]) {
    expect(results.mint).toEqual(
      expect.arrayContaining([
        `${at} module-token/fx-ui: TOKEN 200 {"aud":"fx-ui","scope":"fx-ui:admin"}`,
        `${at} host-admin-token: TOKEN 200 {"aud":"hub","scope":"parachute:host:admin parachute:host:auth"}`,
        `${at} mint-token with the host token: TOKEN 200 {"aud":"fx-ui","scope":"fx-ui:read"}`,
        `${at} oauth: TOKEN 200 {"aud":"fx-ui","scope":"fx-ui:read"}`,
      ]),
    );
  }
  // But its worker cannot reach above its mount, and its headers cannot clear the hub's cookies.
  expect(results.serviceWorker).toEqual([
    'refused /: SecurityError',
    'refused /admin/: SecurityError',
    'refused / from the mount path: SecurityError',
    'refused / from the mount path as text/plain: SecurityError',
    'refused / from the mount path as none: SecurityError',
  ]);
  await expectHubIntact(context, url, before);
  await context.close();
}, 60_000);

test('an ordinary module UI keeps its storage and its service worker on the shared origin', async () => {
  const context = await adminContext(browser, url);
  const page = await context.newPage();
  await page.goto(`${url}/fx-ui/`);
  await page.waitForFunction(() => document.title === 'ui done', undefined, { timeout: 20_000 });
  const results = JSON.parse((await page.locator('#results').textContent()) ?? '{}');
  expect(results.storage).toBe('kept');
  expect(results.serviceWorker).toBe('answered by the service worker');
  await context.close();
}, 60_000);

test("the hub strips what would let a module's answer act on the whole origin", async () => {
  const worker = await fetch(`${url}/fx-evil/sw.js`);
  // The module's `/` is replaced by its mount: no worker of its covers more.
  expect(worker.headers.get('service-worker-allowed')).toBe('/fx-evil/');
  const clear = await fetch(`${url}/fx-evil/clear`);
  expect(clear.headers.get('clear-site-data')).toBeNull();
  // Every cookie it sets is one of the hub's, in some form: none gets through.
  expect(clear.headers.getSetCookie()).toEqual([]);
});

test('only an admin marks a module isolated, and a browser needs the CSRF token', async () => {
  const anonymous = new ApiClient(url);
  expect((await anonymous.post('/api/modules/fx-evil/isolation', { isolated: true })).status).toBe(
    401,
  );
  const admin = new ApiClient(url, { csrf: false });
  await admin.login(ADMIN.username, ADMIN.password);
  const noCsrf = await admin.post('/api/modules/fx-evil/isolation', { isolated: true });
  expect(noCsrf.status).toBe(403);
  expect(noCsrf.json.error).toBe('csrf_failed');
  const created = await call('POST', '/api/users', { username: 'erin' });
  const user = new ApiClient(url);
  await user.login('erin', created.json.temporary_password as string);
  expect((await user.post('/api/modules/fx-evil/isolation', { isolated: true })).status).toBe(403);
  expect((await call('POST', '/api/modules/nope/isolation', { isolated: true })).status).toBe(404);
  expect((await call('POST', '/api/modules/fx-evil/isolation', { isolated: 'yes' })).status).toBe(
    400,
  );
  const list = (await call('GET', '/api/modules/isolation')).json;
  expect(list.apps_domain).toBeNull();
  expect(list.modules).toContainEqual({
    name: 'parachute-fixture-ui',
    module: 'fx-ui',
    isolated: false,
    mode: 'trusted',
    origin: url,
  });
});

test("the admin UI says what a module's pages can do, at install and on its entry", async () => {
  const context = await adminContext(browser, url);
  const page = await context.newPage();
  await page.goto(`${url}/admin/modules`);
  await page.getByRole('heading', { name: 'Modules' }).waitFor();
  expect(await page.getByTestId('install-browser').textContent()).toContain(
    'they can do anything you can do here',
  );
  const installed = page.getByRole('list', { name: 'Installed modules' });
  const ui = installed.getByRole('listitem', { name: 'Fixture: UI' });
  expect(await ui.getByTestId('module-browser').textContent()).toContain(
    'share this hub’s origin, so in your browser they can do anything you can do here',
  );

  await ui.getByRole('button', { name: 'Isolate' }).click();
  await ui.getByText('Isolated: its pages are sandboxed').waitFor();
  const isolated = (await call('GET', '/api/modules/isolation')).json.modules as BrowserRow[];
  expect(isolated.find((m) => m.module === 'fx-ui')?.mode).toBe('isolated');
  await ui.getByRole('button', { name: 'Stop isolating' }).click();
  await ui.getByRole('button', { name: 'Yes, stop isolating' }).click();
  await ui.getByText('share this hub’s origin').waitFor();

  // Installing with "Isolate its pages" marks it before anyone opens them.
  await page.getByLabel('Package').fill(await packFixture('good'));
  await page.getByLabel('Isolate its pages').check();
  await page.getByRole('button', { name: 'Install', exact: true }).click();
  await page.getByTestId('operation').getByText('done.').waitFor({ timeout: 30_000 });
  const good = installed.getByRole('listitem', { name: 'Fixture: good' });
  await good.getByText('Isolated: its pages are sandboxed').waitFor();
  // Its answers, once it runs (before, the hub's own 503 page answers for it).
  const res = await waitFor('fx-good to answer', async () => {
    const answer = await fetch(`${url}/fx-good/health`);
    return answer.ok ? answer : undefined;
  });
  expect(res.headers.get('content-security-policy')).toContain('sandbox');
  await context.close();
}, 60_000);

interface BrowserRow {
  module: string;
  mode: string;
}
