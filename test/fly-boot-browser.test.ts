/**
 * The Upgrade screen in Chromium against a hub run by the Fly launcher
 * (`parachute fly-boot`, test/helpers/launcher.ts), no Fly needed: an
 * upgrade swaps the binary on the volume and the launcher restarts the hub;
 * the page follows across the restart to "Upgraded", and, for a new build
 * that does not start, to "rolled back".
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import pkg from '../package.json' with { type: 'json' };
import { detectAsset } from '../src/platform/release-asset.ts';
import { ADMIN } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import {
  collectPageErrors,
  launchBrowser,
  shot,
  submitSignIn,
  unexpectedErrors,
} from './helpers/browser.ts';
import {
  answers,
  type Launcher,
  readyAt,
  startLauncher,
  trackLaunchers,
} from './helpers/launcher.ts';
import { operatorClient, SEED } from './helpers/modules.ts';
import { brokenBuild, buildVersion, NEW_VERSION, removeBuild } from './helpers/newer-build.ts';
import { ReleaseServer } from './helpers/release-server.ts';

trackLaunchers();
const BUILT = resolve(import.meta.dir, '../dist/parachute');
let browser: Browser;
let channel: ReleaseServer;
let launcher: Launcher;
let newer: string;
const broken = brokenBuild('99.0.1');

beforeAll(async () => {
  newer = await buildVersion();
  channel = new ReleaseServer(detectAsset(), { binary: BUILT, version: pkg.version });
  const vol = mkdtempSync(join(tmpdir(), 'parachute-fly-volume-'));
  launcher = startLauncher(vol, {
    ...SEED,
    PARACHUTE_RELEASE_URL: channel.url,
    PARACHUTE_UPGRADE_HEALTH_S: '10',
  });
  await answers(launcher, pkg.version);
  await readyAt(launcher.url);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  channel?.stop();
  removeBuild(newer);
  removeBuild(broken);
});

test('on Fly the Upgrade screen upgrades in place, and says when a build was rolled back', async () => {
  const call = operatorClient(launcher.url, launcher.volume);
  /** A new release on the channel, known to the hub now rather than at its next hourly check. */
  const publish = async (binary: string, version: string) => {
    channel.publish({ binary, version });
    await call('POST', '/api/hub/upgrade/check', {});
  };
  await publish(newer, NEW_VERSION);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await submitSignIn(page, launcher.url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const errors = collectPageErrors(page);
  await page.goto(`${launcher.url}/admin/upgrade`);
  await page.getByRole('heading', { name: 'Upgrade', exact: true }).waitFor();
  // No "redeploy from your platform" here: the binary lives on the volume.
  expect(await page.getByTestId('upgrade-refusal').count()).toBe(0);
  await page.getByRole('button', { name: `Upgrade to ${NEW_VERSION}` }).click();
  await page.getByRole('button', { name: 'Yes, upgrade' }).click();
  const outcome = page.getByTestId('upgrade-outcome');
  await outcome.getByText(`Upgraded: the hub runs ${NEW_VERSION}.`).waitFor({ timeout: 60_000 });
  const steps = await page.getByTestId('upgrade-steps').textContent();
  expect(steps).toContain('Restarting the hub through its launcher (fly-boot)');
  expect(steps).toContain(`The hub answers /health with ${NEW_VERSION}`);
  await shot(page, 'fly-upgrade-done');

  await publish(broken, '99.0.1');
  await page.reload();
  await page.getByRole('button', { name: 'Upgrade to 99.0.1' }).click();
  await page.getByRole('button', { name: 'Yes, upgrade' }).click();
  await outcome
    .getByText(`99.0.1 did not start, so the hub was rolled back: ${NEW_VERSION} runs again.`)
    .waitFor({ timeout: 60_000 });
  await shot(page, 'fly-upgrade-rolled-back');
  await waitFor('the hub to answer again', async () =>
    (await call('GET', '/api/hub/upgrade')).status === 200 ? true : undefined,
  );
  // The page's polls while no hub listens (the restart) fail to connect, and are retried; nothing else.
  expect(
    unexpectedErrors(errors).filter((e) => !e.endsWith('net::ERR_CONNECTION_REFUSED')),
  ).toEqual([]);

  // Phone and dark: the outcome readable at 360 px.
  const phone = await browser.newContext({
    viewport: { width: 360, height: 800 },
    colorScheme: 'dark',
  });
  const small = await phone.newPage();
  await submitSignIn(small, launcher.url, ADMIN.username, ADMIN.password);
  await small.getByRole('heading', { name: 'Overview' }).waitFor();
  await small.goto(`${launcher.url}/admin/upgrade`);
  await small.getByTestId('upgrade-outcome').getByText('rolled back').waitFor();
  expect(await small.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)).toBe(
    false,
  );
  await shot(small, 'fly-upgrade-rolled-back-phone-dark');
}, 180_000);
