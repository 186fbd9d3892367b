import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let browser: Browser;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  // Something to read: a failed sign-in, a user made, a module installed and stopped.
  const admin = new ApiClient(url);
  expect(
    (await admin.post('/api/auth/login', { username: 'admin', password: 'wrong password here' }))
      .status,
  ).toBe(401);
  // More than a page (50): failed sign-ins as many names, under the per-address limit.
  for (let i = 0; i < 50; i++) {
    await admin.post('/api/auth/login', { username: `guess${i}`, password: 'wrong password here' });
  }
  await admin.login(ADMIN.username, ADMIN.password);
  expect((await admin.post('/api/users', { username: 'carol', role: 'user' })).status).toBe(201);
  expect((await install(started.call, { package: await packFixture('good') })).state).toBe(
    'succeeded',
  );
  await running(started.call, 'fx-good');
  expect((await started.call('POST', '/api/modules/fx-good/stop')).status).toBe(200);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page) {
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

const actions = (page: Page) => page.getByTestId('audit-action').allTextContents();
const actors = (page: Page) => page.getByTestId('audit-actor').allTextContents();

test('an admin reads the audit log and filters it by action and by who', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page);
  // Counted from here: the login page's session check answers 401 on purpose.
  const errors = collectPageErrors(page);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Audit log' })
    .click();
  await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/audit');
  await page.getByTestId('audit-entry').first().waitFor();
  const all = await actions(page);
  // Newest first: this browser's own sign-in leads.
  expect(all[0]).toBe('auth.login');
  for (const action of ['auth.login.failed', 'module.install', 'module.stop']) {
    expect(all).toContain(action);
  }
  await shot(page, 'audit-desktop-light');
  // A page at a time: Load more brings the oldest, the first failed sign-in.
  expect(all).toHaveLength(50);
  await page.getByRole('button', { name: 'Load more' }).click();
  await waitFor('the next page', async () =>
    (await page.getByTestId('audit-entry').count()) > 50 ? true : undefined,
  );
  // The oldest entry, the admin's failed sign-in, was not on the first page.
  const last = page.getByTestId('audit-entry').last();
  expect(await last.getByTestId('audit-action').textContent()).toBe('auth.login.failed');
  expect(await last.textContent()).toContain('admin');
  expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

  await page.getByLabel('Action').selectOption({ label: 'Modules' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor('only module actions', async () =>
    (await actions(page)).every((a) => a.startsWith('module.')) ? true : undefined,
  );
  expect(await actions(page)).toContain('module.stop');

  await page.getByLabel('Action').selectOption({ label: 'All actions' });
  await page.getByLabel('Who').fill('anonymous');
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor('only anonymous failed sign-ins', async () =>
    (await actions(page)).every((a) => a === 'auth.login.failed') ? true : undefined,
  );
  expect(new Set(await actors(page))).toEqual(new Set(['anonymous']));
  // Text narrows to one.
  await page.getByLabel('Text').fill('guess7');
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor('one guess', async () =>
    (await page.getByTestId('audit-entry').count()) === 1 ? true : undefined,
  );
  await page.getByLabel('Text').fill('');

  await page.getByLabel('Who').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('Nothing recorded matches.').waitFor();
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);

test('the audit log reads on a phone and in the dark', async () => {
  for (const [scheme, width] of [
    ['dark', 1280],
    ['light', 360],
    ['dark', 360],
  ] as const) {
    const context = await browser.newContext({
      viewport: { width, height: 800 },
      colorScheme: scheme,
    });
    const page = await context.newPage();
    await signIn(page);
    await page.goto(`${url}/admin/audit`);
    await page.getByTestId('audit-entry').first().waitFor();
    // Nothing wider than the screen.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, `audit-${width < 400 ? 'phone' : 'desktop'}-${scheme}`);
    await context.close();
  }
}, 60_000);

test('someone who is not an admin sees no audit log', async () => {
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'dave', role: 'user' });
  const dave = new ApiClient(url);
  await dave.login('dave', created.json.temporary_password as string);
  const password = 'dave has a long password now';
  const changed = await dave.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: password,
  });
  expect(changed.status).toBe(204);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill('dave');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${url}/admin/audit`);
  await page.getByText('Only admins can read the audit log.').waitFor();
  expect(
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Audit log' })
      .count(),
  ).toBe(0);
  await context.close();
}, 60_000);
