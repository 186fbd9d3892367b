import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '../src/auth/totp.ts';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { collectPageErrors, launchBrowser, submitSignIn } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let operator: OperatorCall;
let browser: Browser;
/** The admin, signed in once in the browser. */
let admin: BrowserContext;

beforeAll(async () => {
  // Env-only settings the Settings page shows read-only.
  const started = await hubWithOperator(hubs, {
    PARACHUTE_ALLOWED_HOSTS: 'nas.local',
    PARACHUTE_TRUSTED_PROXIES: '10.0.0.0/8',
  });
  url = started.url;
  operator = started.call;
  // fx-vault has the vaults alpha and beta.
  expect((await install(operator, { package: await packFixture('vault') })).state).toBe(
    'succeeded',
  );
  await running(operator, 'fx-vault');
  browser = await launchBrowser();
  admin = await browser.newContext();
  const page = await admin.newPage();
  await signIn(page, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page, username: string, password: string) {
  await submitSignIn(page, url, username, password);
}

/** Phone and desktop, light and dark, only when SCREENSHOT_DIR is set. */
async function shots(page: Page, name: string) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  const size = page.viewportSize();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [label, width] of [
      ['phone', 360],
      ['desktop', 1200],
    ] as const) {
      await page.setViewportSize({ width, height: 800 });
      await page.screenshot({ path: `${dir}/${name}-${label}-${scheme}.png`, fullPage: true });
      // Nothing wider than the screen, on a phone too.
      const wide = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect([name, width, wide <= 0]).toEqual([name, width, true]);
    }
  }
  await page.emulateMedia({ colorScheme: null });
  if (size) await page.setViewportSize(size);
}

/** Chromium logs each 4xx answer to fetch() as an error; refusals here are on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) => !/^Failed to load resource: the server responded with a status of 4\d\d\b/.test(text),
  );
}

async function userNamed(username: string) {
  const list = (await operator('GET', '/api/users')).json as {
    users: { id: string; username: string; password_change_required: boolean }[];
  };
  return list.users.find((u) => u.username === username);
}

test('an admin adds a user, gives them a vault, resets their password and deletes them', async () => {
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/`);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Users' })
    .click();
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/users');

  // A bad name is refused next to the field.
  const form = page.getByRole('form', { name: 'Add a user' });
  await form.getByLabel('Username').fill('no spaces please');
  await form.getByRole('button', { name: 'Add user' }).click();
  await form.getByRole('alert').waitFor();

  await form.getByLabel('Username').fill('bob');
  await form.getByRole('button', { name: 'Add user' }).click();
  const shown = page.getByRole('status', { name: 'Temporary password' });
  await shown.getByText('you will not see it again').waitFor();
  const temporary = await shown.getByTestId('temporary-password').inputValue();
  expect(temporary.length).toBeGreaterThan(8);

  const card = page.getByRole('listitem', { name: 'User bob' });
  expect(await card.getByTestId('user-2fa').textContent()).toBe('off');
  await card.getByText('temporary: must change at next sign-in').waitFor();

  // Vault alpha, from the installed vault module's list, is assigned.
  const vaults = card.getByRole('form', { name: 'Vaults of bob' });
  await vaults.getByLabel('beta').waitFor();
  await vaults.getByLabel('alpha').check();
  await vaults.getByRole('button', { name: 'Save vaults' }).click();
  await vaults.getByRole('status').getByText('Saved.').waitFor();
  const bob = await userNamed('bob');
  expect(bob?.password_change_required).toBe(true);
  expect((await operator('GET', `/api/users/${bob?.id}/vaults`)).json.vaults).toEqual(['alpha']);
  await shots(page, 'users');

  // Bob signs in with it and must choose his own password first.
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  await signIn(bobPage, 'bob', temporary);
  await bobPage.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  const own = 'bob chose this one himself';
  await bobPage.getByLabel('Current password').fill(temporary);
  await bobPage.getByLabel('New password', { exact: true }).fill(own);
  await bobPage.getByLabel('Confirm new password').fill(own);
  await bobPage.getByRole('button', { name: 'Set new password' }).click();
  await bobPage.getByRole('heading', { name: 'Overview' }).waitFor();
  // Not an admin: no Users or Settings in his sidebar.
  const nav = bobPage.getByRole('navigation', { name: 'Admin sections' });
  expect(await nav.getByRole('link', { name: 'Users' }).count()).toBe(0);
  expect((await userNamed('bob'))?.password_change_required).toBe(false);

  // Reset: asked first, a new temporary password shown once, bob signed out.
  await page.reload();
  await card.getByRole('button', { name: 'Reset password' }).click();
  await card.getByText('Reset bob’s password?').waitFor();
  await card.getByRole('button', { name: 'Yes, reset' }).click();
  await shown.getByText('you will not see it again').waitFor();
  const second = await shown.getByTestId('temporary-password').inputValue();
  expect(second).not.toBe(temporary);
  expect((await userNamed('bob'))?.password_change_required).toBe(true);
  await bobPage.goto(`${url}/admin/account`);
  await bobPage.getByRole('heading', { name: 'Sign in' }).waitFor();
  await bobContext.close();

  // The admin cannot delete themself: the server's refusal is shown.
  const me = page.getByRole('listitem', { name: `User ${ADMIN.username}` });
  await me.getByRole('button', { name: 'Delete' }).click();
  await me.getByRole('button', { name: `Yes, delete ${ADMIN.username}` }).click();
  await me
    .getByRole('alert')
    .getByText('You cannot delete the account you are signed in with.')
    .waitFor();

  // Deleting bob names him in the question.
  await card.getByRole('button', { name: 'Delete' }).click();
  await card.getByText('Delete the user bob?').waitFor();
  await card.getByRole('button', { name: 'Yes, delete bob' }).click();
  await card.waitFor({ state: 'detached' });
  expect(await userNamed('bob')).toBeUndefined();
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 90_000);

test('settings show the origin and env settings, save the apps domain and toggle isolation', async () => {
  // Admin-only, like every other hub setting.
  expect((await fetch(`${url}/api/hub/settings`)).status).toBe(401);

  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/`);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Settings' })
    .click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.getByTestId('origin-current').getByText(url).waitFor();
  expect(await page.getByTestId('allowed-hosts').textContent()).toContain('nas.local');
  expect(await page.getByTestId('trusted-proxies').textContent()).toContain('10.0.0.0/8');

  // Isolation of fx-vault, turned on from its toggle.
  const row = page.getByTestId('isolation-row').filter({ hasText: 'fx-vault' });
  const toggle = row.getByRole('checkbox');
  expect(await toggle.isChecked()).toBe(false);
  await toggle.check();
  await row.getByTestId('isolation-mode').getByText('isolated').waitFor();
  const listed = (await operator('GET', '/api/modules/isolation')).json as {
    modules: { module: string; isolated: boolean }[];
  };
  expect(listed.modules.find((m) => m.module === 'fx-vault')?.isolated).toBe(true);

  // A bad apps domain is refused next to the field; a good one is saved.
  const apps = page.getByRole('form', { name: 'Apps domain' });
  await apps.getByText('Not set').waitFor();
  await apps.getByLabel('Apps domain').fill('not a domain!');
  await apps.getByRole('button', { name: 'Save apps domain' }).click();
  await apps.getByRole('alert').waitFor();
  await apps.getByLabel('Apps domain').fill('apps.example.test');
  await apps.getByRole('button', { name: 'Save apps domain' }).click();
  await apps.getByRole('status').getByText('Saved.').waitFor();
  await page.getByTestId('apps-domain-current').getByText('apps.example.test').waitFor();
  expect((await operator('GET', '/api/hub/apps-domain')).json.apps_domain).toBe(
    'apps.example.test',
  );
  // Under an apps domain every module has its own origin: the list says so at once.
  await row.getByTestId('isolation-mode').getByText('own-origin').waitFor();
  // Changing the origin's scheme warns before saving.
  const origin = page.getByRole('form', { name: 'Hub origin' });
  await origin.getByLabel('Origin').fill(url.replace('http://', 'https://'));
  await origin.getByText('Moving between http and https signs browsers out').waitFor();
  await shots(page, 'settings');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 90_000);

test('a user enrols 2FA from the QR code and signs out their other session', async () => {
  const made = await operator('POST', '/api/users', { username: 'carol', role: 'user' });
  expect(made.status).toBe(201);
  const password = 'carol has a long password';
  const api = new ApiClient(url);
  await api.login('carol', made.json.temporary_password as string);
  expect(
    (
      await api.post('/api/account/password', {
        current_password: made.json.temporary_password,
        new_password: password,
      })
    ).status,
  ).toBe(204);

  // Two browsers, two sessions.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, 'carol', password);
  await otherPage.getByRole('heading', { name: 'Overview' }).waitFor();
  const here = await browser.newContext();
  const page = await here.newPage();
  const errors = collectPageErrors(page);
  await signIn(page, 'carol', password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${url}/admin/account`);

  // The QR code encodes the otpauth URI; its secret gives the code an app would show.
  await page.getByRole('button', { name: 'Enable' }).click();
  const qr = page.getByRole('img', { name: 'QR code to add this hub to an authenticator app' });
  await qr.waitFor();
  const uri = (await qr.getAttribute('data-qr-text')) ?? '';
  expect(uri).toBe((await page.getByTestId('totp-uri').textContent()) ?? '');
  const secret = new URL(uri).searchParams.get('secret') ?? '';
  expect(secret.length).toBeGreaterThan(10);
  await shots(page, 'account-qr');
  await page.getByLabel('Authentication code').fill(totpCode(secret, Date.now()));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await page.getByTestId('backup-codes').waitFor();
  await page.getByRole('button', { name: 'I have saved them' }).click();

  // Every session is listed (the two browsers and the API client that set the
  // password), this one marked; "sign out everywhere else" ends the others.
  const sessions = page.getByRole('list', { name: 'Active sessions' }).getByTestId('session');
  await page.reload();
  await page.getByRole('heading', { name: 'Active sessions' }).waitFor();
  await sessions.nth(2).waitFor();
  expect(await sessions.count()).toBe(3);
  expect(await page.getByText('this browser').count()).toBe(1);
  await shots(page, 'account-sessions');
  await page.getByRole('button', { name: 'End all other sessions' }).click();
  await page.getByText('End the 2 other sessions?').waitFor();
  await page.getByRole('button', { name: 'Yes, sign them out' }).click();
  await page.getByRole('status').getByText('Every other session is signed out.').waitFor();
  expect(await sessions.count()).toBe(1);
  await otherPage.goto(`${url}/admin/account`);
  await otherPage.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect((await api.get('/api/account/sessions')).status).toBe(401);
  // This browser is still signed in.
  await page.reload();
  await page.getByRole('heading', { name: 'Account' }).waitFor();
  expect(unexpected(errors)).toEqual([]);
  await other.close();
  await here.close();
}, 90_000);

test('sessions and env settings are private: own sessions only, CSRF to end them, admins only for settings', async () => {
  const made = await operator('POST', '/api/users', { username: 'dave', role: 'user' });
  expect(made.status).toBe(201);
  const dave = new ApiClient(url);
  await dave.login('dave', made.json.temporary_password as string);
  // His own password, so that no must-change rule is what refuses him below.
  const own = 'dave picked a long password';
  const changed = await dave.post('/api/account/password', {
    current_password: made.json.temporary_password,
    new_password: own,
  });
  expect(changed.status).toBe(204);
  const mine = (await dave.get('/api/account/sessions')).json as {
    sessions: { current: boolean; id_hash?: string }[];
  };
  // Only dave's one session, and nothing that could be replayed as a cookie.
  expect(mine.sessions.length).toBe(1);
  expect(mine.sessions[0]?.current).toBe(true);
  expect(JSON.stringify(mine)).not.toContain('hash');

  // A second session of dave's survives a request without the CSRF header.
  const second = new ApiClient(url);
  await second.login('dave', own);
  const noCsrf = new ApiClient(url, { csrf: false });
  await noCsrf.login('dave', own);
  expect((await noCsrf.post('/api/account/sessions/revoke-others', {})).status).toBe(403);
  expect((await second.get('/api/account/sessions')).status).toBe(200);
  // Anonymous callers get nothing.
  expect((await fetch(`${url}/api/account/sessions`)).status).toBe(401);

  // The env settings are for admins only.
  expect((await dave.get('/api/hub/settings')).status).toBe(403);
  expect((await operator('GET', '/api/hub/settings')).json.allowed_hosts).toEqual(['nas.local']);
});
