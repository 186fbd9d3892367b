// The Backup screen (issue 18 point 2): an admin downloads an export from the
// browser, and that file is one `parachute import` restores.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ADMIN } from './helpers/api.ts';
import { runBinary } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let bin: string;
let browser: Browser;

beforeAll(async () => {
  ({ url, bin } = await hubWithOperator(hubs));
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

test('an admin downloads an export that parachute import restores', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const errors = collectPageErrors(page);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Backup' })
    .click();
  await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
  expect(await page.getByText('parachute import', { exact: false }).count()).toBeGreaterThan(0);
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download export' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^parachute-export-.*\.tar\.gz$/);
  const work = await mkdtemp(join(tmpdir(), 'parachute-backup-ui-'));
  const file = join(work, download.suggestedFilename());
  await download.saveAs(file);
  await page
    .getByRole('status')
    .filter({ hasText: /^Saved parachute-export-/ })
    .waitFor();
  await shot(page, 'backup-desktop-light');
  expect(errors).toEqual([]);

  const home = join(work, 'restored');
  const imported = await runBinary(bin, ['import', file], { env: { PARACHUTE_HOME: home } });
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
  expect(existsSync(join(home, 'hub.db'))).toBe(true);
  await context.close();
}, 60_000);

test('the Backup screen reads on a phone and in the dark', async () => {
  for (const [scheme, width] of [
    ['dark', 1280],
    ['dark', 360],
    ['light', 360],
  ] as const) {
    const context = await browser.newContext({
      viewport: { width, height: 800 },
      colorScheme: scheme,
    });
    const page = await context.newPage();
    await submitSignIn(page, url, ADMIN.username, ADMIN.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${url}/admin/backup`);
    await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
    // Nothing runs off the side of a phone.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBe(0);
    await shot(page, `backup-${width < 400 ? 'phone' : 'desktop'}-${scheme}`);
    await context.close();
  }
}, 60_000);
