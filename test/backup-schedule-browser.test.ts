// Scheduled backups in the admin UI (issue 18 point 3): an admin sets up an
// encrypted backup to a folder through the Backup screen, sees the first run
// pass its restore drill, never sees the passphrase again, is told what is
// wrong with bad settings, and sees a failing backup on the Overview.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newDrillIdentity, recipientOf } from '../src/backup/age-file.ts';
import { ADMIN } from './helpers/api.ts';
import { collectPageErrors, shot, signedInBrowser, unexpectedErrors } from './helpers/browser.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';
import { type S3Server, startS3Server } from './helpers/s3-server.ts';

const hubs = trackHubs();
let url: string;
let browser: Browser;
let signedIn: BrowserContext;
let folder: string;

const PASSPHRASE = 'violet-otter-quarry-lantern-93';
const DRILL =
  /^Checked: restored \d+ databases?, [\d,]+ tables?, [\d,]+ rows? in (\d+ ms|\d+\.\d s)$/;

beforeAll(async () => {
  ({ url } = await hubWithOperator(hubs));
  ({ browser, signedIn } = await signedInBrowser(url, ADMIN.username, ADMIN.password));
  folder = join(await mkdtemp(join(tmpdir(), 'parachute-backup-target-')), 'backups');
  mkdirSync(folder);
}, 60_000);
let s3: S3Server | undefined;
afterAll(async () => {
  await browser?.close();
  await s3?.stop();
});

async function backupPage(context: BrowserContext = signedIn): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/admin/backup`);
  await page.getByRole('heading', { name: 'Scheduled backups' }).waitFor();
  await page.getByTestId('backup-status').waitFor();
  return page;
}

const settings = (page: Page) => page.getByRole('form', { name: 'Backup settings' });
const newestRun = (page: Page) => page.getByTestId('backup-run').first();

/** Clicks "Back up now" and waits for that run to pass. */
async function backUpNow(page: Page) {
  const before = await page.getByTestId('backup-run').count();
  await page.getByRole('button', { name: 'Back up now' }).click();
  await page.getByTestId('backup-run').nth(before).waitFor({ timeout: 10_000 });
  expect(await newestRun(page).textContent()).toContain('By hand');
  await newestRunEnds(page, 'ok');
}

/** Waits until the newest run in the table has ended (the page polls while one runs). */
async function newestRunEnds(page: Page, state: 'ok' | 'failed') {
  await newestRun(page)
    .getByTestId('backup-run-state')
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout: 90_000 });
}

test('an admin sets up an encrypted folder backup; bad values are named by field; the first run passes its drill', async () => {
  const page = await backupPage();
  const errors = collectPageErrors(page);
  await expect(page.getByTestId('backup-status').textContent()).resolves.toContain('Off');
  const form = settings(page);

  // A relative folder and keep 0: the hub names both fields, nothing is saved.
  await form.getByLabel('Folder', { exact: true }).fill('backups');
  await form.getByLabel('Backups to keep', { exact: true }).fill('0');
  await form.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
  await form.getByLabel('Passphrase again', { exact: true }).fill(PASSPHRASE);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByRole('alert').filter({ hasText: 'see the marked fields' }).waitFor();
  for (const label of ['Folder', 'Backups to keep']) {
    const input = form.getByLabel(label, { exact: true });
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    // The message is read out with the field and sits under it.
    const described = (await input.getAttribute('aria-describedby')) ?? '';
    const message = await page.locator(`[id="${described.split(' ')[0]}"]`).textContent();
    expect(message?.length).toBeGreaterThan(5);
  }
  await shot(page, 'backup-schedule-field-errors');
  // Fixing a field clears the hub's word on it.
  await form.getByLabel('Folder', { exact: true }).fill(folder);
  expect(await form.getByLabel('Folder', { exact: true }).getAttribute('aria-invalid')).toBeNull();

  // A mistyped confirmation is caught before anything is sent.
  await form.getByLabel('Backups to keep', { exact: true }).fill('3');
  await form.getByLabel('Passphrase again', { exact: true }).fill(`${PASSPHRASE}x`);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('The two passphrases differ').waitFor();
  await form.getByLabel('Passphrase again', { exact: true }).fill(PASSPHRASE);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });

  // Enabling with no good backup yet starts the first one; the table follows it to the end.
  await newestRun(page).waitFor({ timeout: 30_000 });
  await newestRunEnds(page, 'ok');
  const result = await newestRun(page).getByTestId('backup-run-result').textContent();
  expect(result).toMatch(DRILL);
  expect(await newestRun(page).textContent()).toContain('Scheduled');
  await page
    .getByTestId('backup-status')
    .filter({ hasText: /Working/ })
    .waitFor({ timeout: 10_000 });
  expect(await page.getByTestId('backup-status').textContent()).not.toContain('None yet');

  // What is in the folder is encrypted: age's header, and no plain tar.
  const stored = readdirSync(folder).filter((name) => name.endsWith('.age'));
  expect(stored).toHaveLength(1);
  expect(
    readFileSync(join(folder, stored[0] as string))
      .subarray(0, 21)
      .toString(),
  ).toBe('age-encryption.org/v1');
  await shot(page, 'backup-schedule-desktop-light');
  expect(unexpectedErrors(errors)).toEqual([]);
  await page.close();
}, 180_000);

test('the stored passphrase is never shown again: not in the form, the page or the API', async () => {
  const page = await backupPage();
  const passphrase = settings(page).getByLabel('Passphrase', { exact: true });
  expect(await passphrase.inputValue()).toBe('');
  expect(await passphrase.getAttribute('placeholder')).toBe('stored — leave empty to keep');
  // The stored settings are what the form shows.
  expect(await settings(page).getByLabel('Folder', { exact: true }).inputValue()).toBe(folder);
  expect(await settings(page).getByLabel('Backups to keep', { exact: true }).inputValue()).toBe(
    '3',
  );
  expect(await page.content()).not.toContain(PASSPHRASE);
  const answer = await page.evaluate(() =>
    fetch('/api/hub/backups', { credentials: 'same-origin' }).then((r) => r.text()),
  );
  expect(answer).toContain('"passphrase_set":true');
  expect(answer).not.toContain(PASSPHRASE);
  await page.close();
}, 60_000);

test('an unreachable S3 target is refused for the whole form and nothing is saved', async () => {
  // A port nothing listens on: the hub's probe cannot connect.
  const closed = Bun.serve({ port: 0, fetch: () => new Response('') });
  const port = closed.port;
  closed.stop(true);
  const page = await backupPage();
  const form = settings(page);
  await form.getByText('S3-compatible storage').click();
  await form.getByLabel('Endpoint', { exact: true }).fill(`http://127.0.0.1:${port}`);
  await form.getByLabel('Bucket', { exact: true }).fill('parachute');
  await form.getByLabel('Region', { exact: true }).fill('us-east-1');
  await form.getByLabel('Access key ID', { exact: true }).fill('test-key');
  await form.getByLabel('Secret access key', { exact: true }).fill('test-secret-never-shown');
  await form.getByRole('button', { name: 'Save' }).click();
  const refused = form.getByRole('alert');
  await refused.waitFor({ timeout: 60_000 });
  expect(await refused.textContent()).toMatch(/\S{10,}/);
  expect(await refused.textContent()).not.toContain('marked fields');
  await shot(page, 'backup-schedule-unreachable');
  // Still the folder: a fresh page shows the saved settings.
  await page.reload();
  await settings(page).getByLabel('Folder', { exact: true }).waitFor();
  expect(await settings(page).getByLabel('Folder', { exact: true }).inputValue()).toBe(folder);
  await page.close();
}, 90_000);

test('"Back up now" runs one by hand, followed live until its drill passes', async () => {
  const page = await backupPage();
  await backUpNow(page);
  expect(await newestRun(page).getByTestId('backup-run-result').textContent()).toMatch(DRILL);
  await page.close();
}, 120_000);

test('a backup that cannot be stored fails with its reason, and the Overview says so', async () => {
  // The folder is gone and a file stands in its place: no one, root included, can write there.
  rmSync(folder, { recursive: true });
  writeFileSync(folder, 'not a folder');
  const page = await backupPage();
  await page.getByRole('button', { name: 'Back up now' }).click();
  await newestRunEnds(page, 'failed');
  expect(
    (await newestRun(page).getByTestId('backup-run-result').textContent())?.length,
  ).toBeGreaterThan(10);
  await page
    .getByTestId('backup-status')
    .filter({ hasText: /Failing/ })
    .waitFor({ timeout: 10_000 });
  await shot(page, 'backup-schedule-failed');

  await page.goto(`${url}/admin`);
  const item = page.getByTestId('attention').getByRole('listitem', {
    name: 'The last backup failed',
  });
  await item.waitFor({ timeout: 20_000 });
  await shot(page, 'backup-schedule-overview-attention');
  await item.getByRole('link', { name: 'Open Backup' }).click();
  await page.getByRole('heading', { name: 'Scheduled backups' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/backup');
  await page.close();
}, 120_000);

test('scheduled backups read on a phone and in the dark', async () => {
  for (const [scheme, width] of [
    ['dark', 1280],
    ['dark', 360],
    ['light', 360],
  ] as const) {
    const context = await browser.newContext({
      viewport: { width, height: 800 },
      colorScheme: scheme,
      storageState: await signedIn.storageState(),
    });
    const page = await backupPage(context);
    await page.getByTestId('backup-run').first().waitFor();
    // Nothing runs off the side of a phone.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBe(0);
    await shot(page, `backup-schedule-${width < 400 ? 'phone' : 'desktop'}-${scheme}`);
    await page.goto(`${url}/admin`);
    await page.getByTestId('attention').waitFor();
    await shot(page, `backup-schedule-overview-${width < 400 ? 'phone' : 'desktop'}-${scheme}`);
    await context.close();
  }
}, 90_000);

test('turning off, confirmed first, forgets the settings', async () => {
  const page = await backupPage();
  await page.getByRole('button', { name: 'Turn off' }).click();
  await page.getByRole('button', { name: 'Yes, turn off' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'Scheduled backups are off.' })
    .waitFor({ timeout: 10_000 });
  await page.getByTestId('backup-status').filter({ hasText: /Off/ }).waitFor();
  expect(await settings(page).getByLabel('Folder', { exact: true }).inputValue()).toBe('');
  expect(
    await settings(page).getByLabel('Passphrase', { exact: true }).getAttribute('placeholder'),
  ).toBeNull();
  await page.close();
}, 60_000);

test('S3 storage with an age recipient: the secret key is kept, never shown back', async () => {
  s3 = await startS3Server();
  // The operator's own key pair; only its public half goes to the hub.
  const recipient = await recipientOf(await newDrillIdentity());
  const page = await backupPage();
  const form = settings(page);
  await form.getByText('S3-compatible storage').click();
  await form.getByLabel('Endpoint', { exact: true }).fill(s3.endpoint);
  await form.getByLabel('Bucket', { exact: true }).fill(s3.bucket);
  await form.getByLabel('Region', { exact: true }).fill('us-east-1');
  await form.getByLabel('Prefix (optional)', { exact: true }).fill('hub/');
  await form.getByLabel('Access key ID', { exact: true }).fill(s3.accessKeyId);
  await form.getByLabel('Secret access key', { exact: true }).fill(s3.secretAccessKey);
  await form.getByText('An age public key').click();
  await form.getByLabel('age recipient', { exact: true }).fill(recipient);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
  // The schedule ran before (to the folder), so its next slot stands; one now proves the bucket.
  await backUpNow(page);
  expect(await newestRun(page).getByTestId('backup-run-result').textContent()).toMatch(DRILL);
  expect(readdirSync(join(s3.dir, s3.bucket), { recursive: true }).join(' ')).toContain('.age');

  // A fresh page: the settings as stored, the secret as a placeholder only.
  await page.reload();
  const secret = settings(page).getByLabel('Secret access key', { exact: true });
  await secret.waitFor();
  expect(await secret.inputValue()).toBe('');
  expect(await secret.getAttribute('placeholder')).toBe('stored — leave empty to keep');
  expect(await settings(page).getByLabel('Access key ID', { exact: true }).inputValue()).toBe(
    s3.accessKeyId,
  );
  expect(await settings(page).getByLabel('age recipient', { exact: true }).inputValue()).toBe(
    recipient,
  );
  expect(await page.content()).not.toContain(s3.secretAccessKey);
  const answer = await page.evaluate(() =>
    fetch('/api/hub/backups', { credentials: 'same-origin' }).then((r) => r.text()),
  );
  expect(answer).toContain('"secret_set":true');
  expect(answer).not.toContain(s3.secretAccessKey);
  await shot(page, 'backup-schedule-s3-recipient');

  // Saved again with the secret left empty: the stored one is kept, and backups still work.
  await settings(page).getByLabel('Backups to keep', { exact: true }).fill('5');
  await settings(page).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
  await backUpNow(page);
  await page.close();
}, 120_000);

test('a paused schedule says so and has no next backup', async () => {
  const page = await backupPage();
  await settings(page).getByLabel('Back up on this schedule').uncheck();
  await settings(page).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
  const status = page.getByTestId('backup-status');
  await status.filter({ hasText: /Paused/ }).waitFor({ timeout: 10_000 });
  expect(await status.textContent()).toContain('Not scheduled');
  expect(await settings(page).getByLabel('Back up on this schedule').isChecked()).toBe(false);
  await page.close();
}, 60_000);
