import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let operator: OperatorCall;
let browser: Browser;

// An app registered by anyone, its name chosen by whoever registered it.
const HOSTILE_NAME = 'Curious <img src=x onerror="document.title=\'owned\'"> Calendar';

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  operator = started.call;
  for (const fixture of ['good', 'crash', 'never-binds']) {
    const done = await install(operator, { package: await packFixture(fixture) });
    expect(done.state).toBe('succeeded');
  }
  await running(operator, 'fx-good');
  await waitFor(
    'fx-crash to give up',
    async () => ((await moduleNamed(operator, 'fx-crash'))?.state === 'crashed' ? true : undefined),
    30_000,
  );
  // Alive but never listening: unbound once its readiness wait (10 s) ends.
  await waitFor(
    'fx-never-binds to be unbound',
    async () =>
      (await moduleNamed(operator, 'fx-never-binds'))?.state === 'unbound' ? true : undefined,
    30_000,
  );
  // Dynamic client registration, anonymous: the app waits for an admin's approval.
  const registered = await new ApiClient(url, { origin: null }).post('/oauth/register', {
    client_name: HOSTILE_NAME,
    redirect_uris: ['http://127.0.0.1:9/callback'],
  });
  expect(registered.status).toBe(201);
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
});

async function signedInPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return page;
}

test('the overview shows the hub, what needs attention with where to fix it, and live module states', async () => {
  const page = await signedInPage();
  const errors = collectPageErrors(page);

  // The hub itself: version, origin, platform, uptime counting on.
  const facts = page.getByTestId('hub-health');
  const version = ((await (await fetch(`${url}/health`)).json()) as { version: string }).version;
  await facts.getByText(url, { exact: true }).waitFor();
  expect(await facts.textContent()).toContain(version);
  expect(await page.getByTestId('hub-platform').textContent()).toMatch(
    /^(Container|Plain process \(no service manager\)|systemd service)$/,
  );
  const uptime = page.getByTestId('hub-uptime');
  const first = await uptime.textContent();
  await page.waitForFunction(
    (old) => document.querySelector('[data-testid="hub-uptime"]')?.textContent !== old,
    first,
    { timeout: 5_000 },
  );

  // Needs attention: the crashed module in plain words, with where to fix it.
  const attention = page.getByTestId('attention');
  const crash = attention.getByRole('listitem', { name: 'Fixture: crash' });
  await crash.getByText(/It keeps crashing: it exited with code 1/).waitFor();
  expect(await crash.getByRole('link', { name: 'Open Modules' }).getAttribute('href')).toBe(
    '/admin/modules',
  );
  expect(await crash.getByRole('link', { name: 'Logs' }).getAttribute('href')).toBe(
    '/admin/logs/parachute-fixture-crash',
  );
  const unbound = attention.getByRole('listitem', { name: 'Fixture: never binds' });
  await unbound.getByText('It runs but never opened its port.').waitFor();
  // The running module needs nothing.
  expect(await attention.getByRole('listitem', { name: 'Fixture: good' }).count()).toBe(0);

  // The pending app, its name shown as text (never markup), linking to where it is approved.
  const app = attention.getByRole('listitem', { name: HOSTILE_NAME });
  await app.getByText(/waiting for approval/).waitFor();
  expect(await attention.locator('img').count()).toBe(0);
  expect(await page.title()).not.toBe('owned');

  // Every module with its state dot.
  const states = page.getByRole('list', { name: 'Module states' });
  const good = states.getByRole('listitem', { name: 'Fixture: good' });
  await good.getByTestId('module-state').getByText('running').waitFor();
  await states
    .getByRole('listitem', { name: 'Fixture: crash' })
    .getByTestId('module-state')
    .getByText('crashed')
    .waitFor();

  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 800 });
    await shot(page, `overview-desktop-${scheme}`);
    await page.setViewportSize({ width: 360, height: 780 });
    await shot(page, `overview-phone-${scheme}`);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });

  // Stopped through the API (as the CLI would): the dot turns without a reload.
  await page.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
  expect((await operator('POST', '/api/modules/fx-good/stop')).status).toBe(200);
  await good.getByTestId('module-state').getByText('stopped').waitFor({ timeout: 10_000 });
  // Stopped on purpose: not something that needs attention.
  expect(await attention.getByRole('listitem', { name: 'Fixture: good' }).count()).toBe(0);
  expect((await operator('POST', '/api/modules/fx-good/start')).status).toBe(200);
  await good.getByTestId('module-state').getByText('running').waitFor({ timeout: 20_000 });

  // Uninstalling the crashed module takes it off the list, live too.
  expect((await operator('DELETE', '/api/modules/fx-crash')).status).toBeLessThan(300);
  await crash.waitFor({ state: 'detached', timeout: 20_000 });
  expect((await operator('DELETE', '/api/modules/fx-never-binds')).status).toBeLessThan(300);
  await unbound.waitFor({ state: 'detached', timeout: 20_000 });
  expect(
    await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
  ).toBe(true);

  // The app's link leads to where it is approved.
  await app.getByRole('link', { name: 'Review in Connected apps' }).click();
  await page.getByRole('heading', { name: 'Registered apps' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/apps');
  expect(errors).toEqual([]);
  await page.context().close();
}, 120_000);

test('nothing needing attention is said, not left blank; a user sees health only', async () => {
  // Approve the app: the hub still runs fx-good, so nothing is left.
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const clients = (await admin.get('/api/oauth/clients')).json.clients as { client_id: string }[];
  for (const c of clients) {
    const res = await admin.post(`/api/oauth/clients/${encodeURIComponent(c.client_id)}/approve`);
    expect(res.status).toBe(200);
  }
  const page = await signedInPage();
  await page.getByTestId('attention-none').getByText('Nothing needs your attention.').waitFor();
  await page.context().close();

  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  expect(created.status).toBe(201);
  // The temporary password is changed first, as the user would on first sign-in.
  const friend = new ApiClient(url);
  const temporary = created.json.temporary_password as string;
  await friend.login('friend', temporary);
  const password = 'a friend of the hub, long enough';
  const changed = await friend.post('/api/account/password', {
    current_password: temporary,
    new_password: password,
  });
  expect(changed.status).toBe(204);
  const context = await browser.newContext();
  const user = await context.newPage();
  await submitSignIn(user, url, 'friend', password);
  await user.getByRole('heading', { name: 'Overview' }).waitFor();
  // Loaded afresh, signed in: no call of the page is refused (the admin-only ones are not made).
  const errors = collectPageErrors(user);
  await user.reload();
  await user.getByRole('heading', { name: 'Overview' }).waitFor();
  // Status and database are both "ok"; the version is there too.
  const health = user.getByTestId('hub-health');
  await health.getByText('ok').first().waitFor();
  expect(await health.textContent()).toMatch(/Version\d+\.\d+\.\d+/);
  expect(await user.getByTestId('hub-platform').count()).toBe(0);
  expect(await user.getByRole('heading', { name: 'Needs attention' }).count()).toBe(0);
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);
