import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { type HubProcess, isolatedBinary, ready, spawnHub, waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser } from './helpers/browser.ts';

const PASSWORD = 'correct horse battery staple';

let hub: HubProcess;
let url: string;
let token: string;
let browser: Browser;

beforeAll(async () => {
  const { dir, bin } = isolatedBinary();
  // No PARACHUTE_INITIAL_ADMIN_*: the hub starts unclaimed and prints a bootstrap token.
  hub = spawnHub(bin, { cwd: dir });
  url = await hub.listening();
  await ready(url);
  token = await waitFor(
    'the bootstrap token in the log',
    () => /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(hub.stdout())?.[0],
  );
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  hub?.proc.kill('SIGKILL');
});

/**
 * Chromium logs every error answer to fetch() as "Failed to load resource";
 * those are expected here: 4xx (401 from /api/auth/session before signing
 * in, the deliberate wrong token and password) and the 503 setup_required
 * the hub gives before it has an admin. Everything else, CSP violations
 * above all, counts.
 */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) =>
      !/^Failed to load resource: the server responded with a status of (4\d\d|503)\b/.test(text),
  );
}

/** Screenshots for a human to look at, only when SCREENSHOT_DIR is set. */
async function shot(page: Page, name: string) {
  if (process.env.SCREENSHOT_DIR)
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/${name}.png` });
}

function pathOf(page: Page): string {
  return new URL(page.url()).pathname;
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('first run: setup creates the admin, who can sign out and back in', async () => {
  const page = await browser.newPage();
  const errors = collectPageErrors(page);

  // No admin yet: any admin page leads to setup.
  await page.goto(`${url}/admin/`);
  await page.getByRole('heading', { name: 'Set up your hub' }).waitFor();
  expect(pathOf(page)).toBe('/admin/setup');

  // A wrong token is refused and the page stays put.
  const wrongToken = `parachute-bootstrap-${'A'.repeat(43)}`;
  await page.getByLabel('Bootstrap token').fill(wrongToken);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  const alert = page.getByRole('alert');
  await alert.getByText('That bootstrap token is not valid').waitFor();
  expect(pathOf(page)).toBe('/admin/setup');

  // The client checks the confirmation before asking the hub.
  await page.getByLabel('Bootstrap token').fill(token);
  await page.getByLabel('Confirm password').fill(`${PASSWORD}!`);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await alert.getByText('does not match').waitFor();
  await shot(page, 'setup-mismatch');

  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(pathOf(page)).toBe('/admin/');
  expect(await page.getByTestId('signed-in-user').textContent()).toBe('admin');

  // Sign out ends the session: a full page load of /login. Signing in again lands on the overview.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(pathOf(page)).toBe('/login');
  await signIn(page, 'admin', PASSWORD);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(pathOf(page)).toBe('/admin/');
  expect(await page.getByTestId('signed-in-user').textContent()).toBe('admin');

  // Signed out, an admin page sends the user to sign in and back afterwards.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.goto(`${url}/admin/account`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(pathOf(page)).toBe('/login');
  expect(new URL(page.url()).searchParams.get('next')).toBe('/admin/account');
  await signIn(page, 'admin', PASSWORD);
  await page.getByRole('heading', { name: 'Account' }).waitFor();
  expect(pathOf(page)).toBe('/admin/account');
  expect(await page.getByTestId('account-username').textContent()).toBe('admin');

  // A `next` pointing off the hub is ignored (no open redirect).
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.goto(`${url}/login?next=${encodeURIComponent('//evil.example/admin/')}`);
  await signIn(page, 'admin', PASSWORD);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect(new URL(page.url()).origin).toBe(url);
  expect(pathOf(page)).toBe('/admin/');

  // The hub is claimed now: setup sends people to sign in.
  const fresh = await browser.newPage();
  const freshErrors = collectPageErrors(fresh);
  await fresh.goto(`${url}/admin/setup`);
  await fresh.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(pathOf(fresh)).toBe('/login');
  await fresh.close();

  await shot(page, 'signed-in');
  expect(unexpected([...errors, ...freshErrors])).toEqual([]);
  await page.close();
}, 30_000);

test('a wrong password is refused in plain words', async () => {
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/login`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, 'admin', 'not the password at all');
  await page.getByRole('alert').getByText('Wrong username or password').waitFor();
  expect(pathOf(page)).toBe('/login');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

/** RFC 6238 code for a base32 secret now (SHA-1, 6 digits, 30 s): what an authenticator app shows. */
function totpNow(secret: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  }
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => Number.parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

test('a new user replaces the temporary password, then turns two-factor on and off', async () => {
  // The admin creates the account (no users page yet: through the API, as the SPA would).
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await admin.goto(`${url}/login`);
  await signIn(admin, 'admin', PASSWORD);
  await admin.getByRole('heading', { name: 'Overview' }).waitFor();
  const created = await admin.evaluate(async () => {
    const csrf = /(?:^|; )parachute_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
    const res = await fetch('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
      body: JSON.stringify({ username: 'alice', role: 'user' }),
    });
    return { status: res.status, body: await res.json() };
  });
  expect(created.status).toBe(201);
  const temporary = created.body.temporary_password as string;
  await adminContext.close();

  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/login`);
  await signIn(page, 'alice', temporary);

  // The temporary password must be replaced before any admin page shows.
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await shot(page, 'password-change-required');
  const newPassword = 'alice has her own password now';
  await page.getByLabel('Current password').fill('not the temporary one');
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Confirm new password').fill(newPassword);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('alert').getByText('Your current password is wrong').waitFor();
  await page.getByLabel('Current password').fill(temporary);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  // Two-factor on: the secret is shown as text, one code from the "app" proves it.
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Account' })
    .click();
  await page.getByRole('heading', { name: 'Account' }).waitFor();
  expect(await page.getByTestId('account-username').textContent()).toBe('alice');
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByTestId('totp-secret').waitFor();
  await shot(page, 'totp-setup');
  const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
  expect(await page.getByTestId('totp-uri').textContent()).toStartWith('otpauth://totp/');
  await page.getByLabel('Authentication code').fill('000000');
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  // 000000 could be the real code once in a million; then the next step simply succeeds.
  await page
    .getByRole('alert')
    .getByText('That code is not valid')
    .or(page.getByTestId('backup-codes'))
    .waitFor();
  if (!(await page.getByTestId('backup-codes').isVisible())) {
    await page.getByLabel('Authentication code').fill(totpNow(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  }
  const codes = ((await page.getByTestId('backup-codes').textContent()) ?? '').split('\n');
  expect(codes.length).toBeGreaterThan(0);
  await page.getByText('Save these backup codes now').waitFor();
  await shot(page, 'backup-codes');
  await page.getByRole('button', { name: 'I have saved them' }).click();

  // Signing in now takes a second step; a wrong code can be retried, a backup code works.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, 'alice', newPassword);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  await page.getByLabel('Authentication code').fill('zzzz-zzzz');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').getByText('That code is not valid').waitFor();
  await shot(page, 'login-code');
  await page.getByLabel('Authentication code').fill(codes[0] ?? '');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  // And off again, with the password.
  await page.goto(`${url}/admin/account`);
  const twoFactor = page.getByRole('region', { name: 'Two-factor authentication' });
  await twoFactor.getByLabel('Password').fill(newPassword);
  await twoFactor.getByRole('button', { name: 'Disable' }).click();
  await twoFactor.getByRole('button', { name: 'Enable' }).waitFor();

  await shot(page, 'account');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);
