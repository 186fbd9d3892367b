import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, shot, signedInBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  trackHubs,
  uploadModule,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let home: string;
let operator: OperatorCall;
let browser: Browser;
let signedIn: BrowserContext;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  operator = started.call;
  ({ browser, signedIn } = await signedInBrowser(url, ADMIN.username, ADMIN.password));
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

/** Chromium logs each 4xx/5xx answer as an error; the 502 of a stopped module is one on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) =>
      !/^Failed to load resource: the server responded with a status of \d\d\d\b/.test(text),
  );
}

test('the list and the upload are for an admin only; an upload over 50 MB is refused', async () => {
  const anonymous = await fetch(`${url}/api/modules/events`);
  expect(anonymous.status).toBe(401);
  await anonymous.body?.cancel();
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  expect(created.status).toBe(201);
  const friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  expect((await friend.request('GET', '/api/modules/events')).status).toBe(403);
  expect((await friend.request('PUT', '/api/modules/x/env', { values: {} })).status).toBe(403);

  const tgz = Bun.file(await packFixture('good'));
  expect((await uploadModule(url, friend, tgz)).status).toBe(403);
  expect((await uploadModule(url, admin, tgz, false)).status).toBe(403);
  expect((await uploadModule(url, new ApiClient(url), tgz)).status).toBe(401);

  // Declared too large: refused before it is read.
  const big = new Uint8Array(50 * 1024 * 1024 + 1);
  const declared = await uploadModule(url, admin, big);
  expect(declared.status).toBe(413);
  expect(declared.json.error).toBe('payload_too_large');
  // Not a tarball.
  const junk = await uploadModule(url, admin, 'not a tarball');
  expect(junk.status).toBe(400);
  // Nothing was installed, and no upload is left behind.
  expect((await operator('GET', '/api/modules')).json.modules).toEqual([]);
  expect(readdirSync(join(home, 'uploads'))).toEqual([]);
}, 60_000);

test('upload a .tgz in the page, then see it run, stop and answer 502 without a reload', async () => {
  const tgz = await packFixture('good');
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/modules`);
  await page.getByText('No modules are installed yet.').waitFor();
  await page.getByLabel('Or upload a .tgz').setInputFiles(tgz);
  await page.getByRole('button', { name: 'Upload and install' }).click();
  await page.getByTestId('operation').getByText('done.').waitFor({ timeout: 60_000 });
  const card = page.getByRole('listitem', { name: 'Fixture: good' });
  // Arrives by the event stream: the page is never reloaded.
  await card.getByTestId('module-state').getByText('running').waitFor({ timeout: 60_000 });
  const good = await moduleNamed(operator, 'fx-good');
  await card.getByText(String(good?.port), { exact: true }).waitFor();
  await card.getByTestId('module-uptime').waitFor();
  // Sampled from /proc every 10 s: memory at the first sample, CPU from the second.
  await card
    .getByTestId('module-memory')
    .getByText(/\d+\.\d MB/)
    .waitFor({ timeout: 30_000 });
  await card
    .getByTestId('module-cpu')
    .getByText(/\d+\.\d %/)
    .waitFor({ timeout: 30_000 });
  const rss = (await moduleNamed(operator, 'fx-good'))?.resources as { rssBytes: number };
  expect(rss.rssBytes).toBeGreaterThan(1024 * 1024);
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

  // A setting: saved masked, applied by a restart.
  await card.getByText('Settings (.env)').click();
  await card.getByLabel('Name').fill('FIXTURE_DOTENV');
  await card.getByLabel('Value').fill('set in the page');
  await card.getByRole('button', { name: 'Save setting' }).click();
  await card.getByText('FIXTURE_DOTENV', { exact: true }).waitFor();
  expect(await card.textContent()).not.toContain('set in the page');
  const envFile = join(home, 'fx-good', '.env');
  expect(statSync(envFile).mode & 0o777).toBe(0o600);
  const shown = await operator('GET', '/api/modules/fx-good/env');
  expect(JSON.stringify(shown.json)).not.toContain('set in the page');
  await shot(page, 'modules-env-desktop');
  await card.getByRole('button', { name: 'Restart now' }).click();
  await waitFor(
    'the setting applied',
    async () => {
      const res = await page.context().request.get(`${url}/fx-good/env`);
      return res.ok() && (await res.json()).FIXTURE_DOTENV === 'set in the page' ? true : undefined;
    },
    20_000,
  );
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
