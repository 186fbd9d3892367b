/**
 * The Upgrade screen in Chromium against a real hub and a release channel
 * on loopback serving a real second build: the Overview flags the new
 * version, the admin confirms, the page follows the watcher's progress to
 * its outcome. This hub runs without a service manager, so the outcome is
 * "installed: restart it" (the restart and rollback under systemd are in
 * test/platform/hub-upgrade.test.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser } from 'playwright-core';
import pkg from '../package.json' with { type: 'json' };
import { detectAsset } from '../src/platform/release-asset.ts';
import { ADMIN } from './helpers/api.ts';
import { runBinary, waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { hubWithOperator, type OperatorCall, trackHubs } from './helpers/modules.ts';
import { buildVersion, NEW_VERSION, removeBuild } from './helpers/newer-build.ts';
import { ReleaseServer } from './helpers/release-server.ts';

const hubs = trackHubs();
let browser: Browser;
let channel: ReleaseServer;
let url: string;
let bin: string;
let call: OperatorCall;
let newer: string;

beforeAll(async () => {
  newer = await buildVersion();
  channel = new ReleaseServer(detectAsset(), { binary: newer, version: NEW_VERSION });
  // INVOCATION_ID empty: not under systemd, whatever runs the tests.
  const started = await hubWithOperator(hubs, {
    PARACHUTE_RELEASE_URL: channel.url,
    INVOCATION_ID: '',
  });
  ({ url, bin, call } = started);
  // The hub checks the channel in the background; wait until it knows.
  await waitFor('the channel check', async () => {
    const res = await call('GET', '/api/hub');
    return (res.json as { upgrade: { latest: string | null } }).upgrade.latest ? true : undefined;
  });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  channel?.stop();
  removeBuild(newer);
});

test('the Overview flags the new version; the Upgrade screen upgrades and says what happened', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const errors = collectPageErrors(page);
  const item = page.getByRole('listitem', { name: `Parachute ${NEW_VERSION} is available` });
  await item.waitFor();
  await shot(page, 'upgrade-overview-attention');
  await item.getByRole('link', { name: 'Open Upgrade' }).click();

  await page.getByRole('heading', { name: 'Upgrade', exact: true }).waitFor();
  const versions = page.getByTestId('upgrade-versions');
  expect(await versions.textContent()).toContain(pkg.version);
  expect(await versions.textContent()).toContain(NEW_VERSION);
  await shot(page, 'upgrade-page');

  // Nothing happens on the first click: it asks.
  await page.getByRole('button', { name: `Upgrade to ${NEW_VERSION}` }).click();
  expect(await page.getByText('Back up hub.db').isVisible()).toBe(true);
  await shot(page, 'upgrade-confirm');
  await page.getByRole('button', { name: 'Yes, upgrade' }).click();

  const outcome = page.getByTestId('upgrade-outcome');
  await outcome.getByText(`${NEW_VERSION} is installed`).waitFor({ timeout: 60_000 });
  expect(await outcome.textContent()).toContain('restart it');
  const steps = await page.getByTestId('upgrade-steps').textContent();
  expect(steps).toContain('checking it against SHA256SUMS');
  expect(steps).toContain('Backup written');
  await shot(page, 'upgrade-done');
  expect((await runBinary(bin, ['--version'])).stdout).toContain(NEW_VERSION);

  // The audit log has who started it and how it ended.
  const audit = await call('GET', '/api/audit?action=hub.upgrade');
  const outcomes = (audit.json as { entries: { outcome: string; actor: { name: string } }[] })
    .entries;
  expect(outcomes.map((e) => e.outcome).sort()).toEqual(['started', 'success']);
  expect(outcomes.find((e) => e.outcome === 'started')?.actor.name).toBe(ADMIN.username);
  expect(errors).toEqual([]);

  // Phone and dark: the same page, readable.
  const phone = await browser.newContext({
    viewport: { width: 360, height: 800 },
    colorScheme: 'dark',
  });
  const small = await phone.newPage();
  await submitSignIn(small, url, ADMIN.username, ADMIN.password);
  await small.getByRole('heading', { name: 'Overview' }).waitFor();
  await small.goto(`${url}/admin/upgrade`);
  await small.getByTestId('upgrade-outcome').waitFor();
  const overflow = await small.evaluate(
    () => document.documentElement.scrollWidth > window.innerWidth,
  );
  expect(overflow).toBe(false);
  await shot(small, 'upgrade-phone-dark');
}, 120_000);

test('a page opened while the hub asks the channel shows the answer when it comes, without a reload', async () => {
  // A channel that holds its answer until the test lets it go.
  let answer = () => {};
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  let asked = 0;
  const slow = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      if (new URL(request.url).pathname !== '/VERSION') return new Response('', { status: 404 });
      asked++;
      await answered;
      return new Response(`${NEW_VERSION}\n`);
    },
  });
  try {
    const started = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: `http://127.0.0.1:${slow.port}`,
      INVOCATION_ID: '',
    });
    const page = await (await browser.newContext()).newPage();
    await submitSignIn(page, started.url, ADMIN.username, ADMIN.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${started.url}/admin/upgrade`);
    const versions = page.getByTestId('upgrade-versions');
    await versions.getByText('checking the release channel').waitFor();
    await waitFor('the hub to ask the channel', () => (asked > 0 ? true : undefined));
    answer();
    await versions.getByText(NEW_VERSION).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: `Upgrade to ${NEW_VERSION}` }).count()).toBe(1);
    // One look at the channel, however many times the page asked the hub meanwhile.
    expect(asked).toBe(1);
  } finally {
    answer();
    slow.stop(true);
  }
}, 60_000);
