import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { collectPageErrors, launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let operator: OperatorCall;
let browser: Browser;
let signedIn: BrowserContext;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  operator = started.call;
  browser = await launchBrowser();
  signedIn = await browser.newContext();
  const page = await signedIn.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

/** Screenshots for a human to look at, only when SCREENSHOT_DIR is set. */
async function shot(page: Page, name: string) {
  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

/** Chromium logs each 4xx/5xx answer as an error; the 502 of a stopped module is one on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) =>
      !/^Failed to load resource: the server responded with a status of \d\d\d\b/.test(text),
  );
}

test('the list streams only to an admin', async () => {
  const anonymous = await fetch(`${url}/api/modules/events`);
  expect(anonymous.status).toBe(401);
  await anonymous.body?.cancel();
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  expect(created.status).toBe(201);
  const friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  const refused = await friend.request('GET', '/api/modules/events');
  expect(refused.status).toBe(403);
});

test('install from the page, then see it run, stop and answer 502 without a reload', async () => {
  const tgz = await packFixture('good');
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/modules`);
  await page.getByText('No modules are installed yet.').waitFor();
  await page.getByLabel('Package').fill(tgz);
  await page.getByRole('button', { name: 'Install' }).click();
  const card = page.getByRole('listitem', { name: 'Fixture: good' });
  // Arrives by the event stream: the page is never reloaded.
  await card.getByTestId('module-state').getByText('running').waitFor({ timeout: 60_000 });
  const good = await moduleNamed(operator, 'fx-good');
  await card.getByText(String(good?.port), { exact: true }).waitFor();
  await card.getByTestId('module-uptime').waitFor();
  await shot(page, 'modules-running-desktop');

  await card.getByRole('button', { name: 'Stop', exact: true }).click();
  await card.getByTestId('module-state').getByText('stopped').waitFor();
  await card.getByTestId('module-uptime').waitFor({ state: 'detached' });
  const down = await page.context().request.get(`${url}/fx-good/health`);
  expect(down.status()).toBe(502);

  await card.getByRole('button', { name: 'Start', exact: true }).click();
  await card.getByTestId('module-state').getByText('running').waitFor();
  const up = await page.context().request.get(`${url}/fx-good/health`);
  expect(up.status()).toBe(200);
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 120_000);

test('a crashed module says how it ended and what it printed, and starts again', async () => {
  expect((await install(operator, { package: await packFixture('crash') })).state).toBe(
    'succeeded',
  );
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const card = page.getByRole('listitem', { name: 'Fixture: crash' });
  await card.getByTestId('module-state').getByText('crashed').waitFor({ timeout: 30_000 });
  const problem = card.getByTestId('module-problem');
  await problem.getByText(/keeps crashing: it exited with code 1/).waitFor();
  expect(await card.getByTestId('last-lines').textContent()).toContain(
    'fx-crash: fatal: missing config',
  );
  await shot(page, 'modules-crashed-desktop');
  await page.setViewportSize({ width: 360, height: 780 });
  await shot(page, 'modules-crashed-phone');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'modules-crashed-phone-dark');
  await page.setViewportSize({ width: 1280, height: 800 });
  await shot(page, 'modules-crashed-desktop-dark');
  // No sideways scrolling at phone width.
  await page.setViewportSize({ width: 360, height: 780 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 800 });

  const before = await card.getByTestId('module-problem').locator('p.muted').textContent();
  await card.getByRole('button', { name: 'Start', exact: true }).click();
  // Started again: it crashes again, and says so anew.
  await page.waitForFunction(
    (old) => {
      const cards = [...document.querySelectorAll('li.card')];
      const crash = cards.find((c) => c.getAttribute('aria-label') === 'Fixture: crash');
      const at = crash?.querySelector('[data-testid="module-problem"] p.muted')?.textContent;
      const state = crash?.querySelector('[data-testid="module-state"]')?.textContent;
      return at && at !== old && state === 'crashed';
    },
    before,
    { timeout: 30_000 },
  );
  await page.close();
}, 120_000);

test('uninstall with its data names the folder it deletes', async () => {
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const card = page.getByRole('listitem', { name: 'Fixture: crash' });
  await card.getByLabel('Also delete its data').check();
  await card.getByRole('button', { name: 'Uninstall' }).click();
  await card.getByText(/and delete .*fx-crash with everything in it\?/).waitFor();
  await shot(page, 'modules-uninstall-confirm');
  await card.getByRole('button', { name: 'Yes, uninstall' }).click();
  await card.waitFor({ state: 'detached', timeout: 30_000 });
  const list = (await operator('GET', '/api/modules')).json.modules as { module: string }[];
  expect(list.map((m) => m.module)).toEqual(['fx-good']);
  await page.close();
}, 120_000);
