import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { type HubProcess, isolatedBinary, ready, spawnHub } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { install, operatorClient, running } from './helpers/modules.ts';

let hub: HubProcess;
let url: string;
let browser: Browser;
/** Signed in once; every page below opens in it and shares its session cookie. */
let signedIn: BrowserContext;

const ADMIN_PASSWORD = 'spa test admin password';

beforeAll(async () => {
  const { dir, bin } = isolatedBinary();
  // The hub seeds its first admin from these, so no setup step is needed.
  hub = spawnHub(bin, {
    cwd: dir,
    env: {
      PARACHUTE_INITIAL_ADMIN_USERNAME: 'admin',
      PARACHUTE_INITIAL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    },
  });
  url = await hub.listening();
  await ready(url);
  browser = await launchBrowser();
  signedIn = await browser.newContext();
  const page = await signedIn.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 30_000);
afterAll(async () => {
  await browser?.close();
  // SIGTERM, so the hub stops fx-ui (installed below): a SIGKILLed hub leaves
  // its modules running, holding their ports, after the run.
  hub?.proc.kill('SIGTERM');
  await hub?.proc.exited;
});

test('a deep link renders inside the layout and the router navigates without reloading', async () => {
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/no-such-page`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Admin sections' });
  expect(await nav.getByRole('link').allTextContents()).toContain('Overview');

  // A marker on window survives client-side navigation, not a full page load.
  await page.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
  await nav.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/');
  expect(
    await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
  ).toBe(true);
  expect(await nav.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe(
    'page',
  );

  // The overview reads /health through the hub.
  const facts = page.getByTestId('hub-health');
  await facts.waitFor();
  const version = (await (await fetch(`${url}/health`)).json()).version as string;
  expect(await facts.textContent()).toContain(version);
  expect(await page.getByTestId('hub-version').textContent()).toBe(`v${version}`);

  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/overview.png` });
  // Nothing was blocked by the CSP and no script failed.
  expect(errors).toEqual([]);
  await page.close();
}, 30_000);

test('back and forward move between admin pages', async () => {
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${url}/admin/elsewhere`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/');
  await page.close();
}, 30_000);

test('on a phone every admin page fits the screen: the navigation scrolls sideways, the page does not', async () => {
  const page = await signedIn.newPage();
  await page.setViewportSize({ width: 360, height: 780 });
  for (const path of [
    '/admin/',
    '/admin/modules',
    '/admin/apps',
    '/admin/tokens',
    '/admin/users',
    '/admin/settings',
    '/admin/upgrade',
    '/admin/account',
  ]) {
    await page.goto(`${url}${path}`);
    await page.getByRole('navigation', { name: 'Admin sections' }).waitFor();
    await page.locator('main h1').first().waitFor();
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      screen: window.innerWidth,
    }));
    expect([path, widths.page <= widths.screen]).toEqual([path, true]);
  }
  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/overview-phone.png` });
  await page.close();
}, 30_000);

test('the overview has a tile per module UI that opens it, with its Manage and Configure links, also on a phone', async () => {
  const call = operatorClient(url, hub.home);
  expect((await install(call, { package: await packFixture('ui') })).state).toBe('succeeded');
  await running(call, 'fx-ui');
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/`);
  const tiles = page.getByRole('list', { name: 'Module apps' });
  const open = tiles.getByRole('link', { name: 'Fixture: UI', exact: true });
  await open.waitFor();
  expect(await tiles.getByText('An ordinary module UI').count()).toBe(1);
  // fx-ui declares all three forms: uiUrl "./", an absolute managementUrl, a path configUiUrl.
  expect(await tiles.getByRole('link', { name: 'Manage Fixture: UI' }).getAttribute('href')).toBe(
    'https://fx-ui.example/manage',
  );
  expect(
    await tiles.getByRole('link', { name: 'Configure Fixture: UI' }).getAttribute('href'),
  ).toBe(`${url}/fx-ui/?view=config`);
  expect(errors).toEqual([]);

  await page.setViewportSize({ width: 360, height: 780 });
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    screen: window.innerWidth,
  }));
  expect(widths.page).toBeLessThanOrEqual(widths.screen);
  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/overview-tiles-phone.png` });

  // The tile opens the module's own page.
  await open.click();
  await page.waitForURL(`${url}/fx-ui/`);
  await page.getByRole('heading', { name: 'fx-ui' }).waitFor();
  await page.close();
}, 60_000);
