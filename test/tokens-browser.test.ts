import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
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
let signedIn: BrowserContext;

const FRIEND = { username: 'friend', password: 'a friend password that is long' };

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  operator = started.call;
  // fx-mcp offers fx-mcp:read, a scope an admin can mint; fx-vault has the vaults alpha and beta.
  for (const fixture of ['mcp', 'vault']) {
    expect((await install(started.call, { package: await packFixture(fixture) })).state).toBe(
      'succeeded',
    );
  }
  await running(started.call, 'fx-mcp');
  await running(started.call, 'fx-vault');

  // A user who is not an admin, with a password of their own.
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: FRIEND.username, role: 'user' });
  expect(created.status).toBe(201);
  const friend = new ApiClient(url);
  await friend.login(FRIEND.username, created.json.temporary_password as string);
  const changed = await friend.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: FRIEND.password,
  });
  expect(changed.status).toBe(204);

  browser = await launchBrowser();
  signedIn = await browser.newContext();
  const page = await signedIn.newPage();
  await signIn(page, ADMIN.username, ADMIN.password);
  await page.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page, username: string, password: string) {
  await submitSignIn(page, url, username, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Chromium logs each 4xx answer to fetch() as an error; the refused mint is one on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) => !/^Failed to load resource: the server responded with a status of 4\d\d\b/.test(text),
  );
}

async function revocationList(): Promise<string[]> {
  return (
    (await (await fetch(`${url}/.well-known/parachute-revocation.json`)).json()) as {
      jtis: string[];
    }
  ).jtis;
}

/** How many tokens the hub lists with revoked=all, read page by page with the operator token. */
async function recordedCount(): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = (await operator('GET', `/api/auth/tokens?revoked=all${query}`)).json as {
      tokens: unknown[];
      next_cursor: string | null;
    };
    count += page.tokens.length;
    cursor = page.next_cursor;
  } while (cursor !== null);
  return count;
}

test('an admin mints a token, sees it once, and revokes it after confirming', async () => {
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/`);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Tokens' })
    .click();
  await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/admin/tokens');
  await page.getByText('No tokens have been minted yet.').waitFor();

  // The hub's offered scopes are suggestions for the field.
  const suggestions = await page
    .locator('datalist option')
    .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
  expect(suggestions).toContain('fx-mcp:read');

  const form = page.getByRole('form', { name: 'Mint a token' });
  await form.getByLabel('Scopes').fill('fx-mcp:read');
  await form.getByLabel('Expires after').selectOption({ label: '7 days' });
  await form.getByLabel('Subject (optional)').fill('backup script');
  await form.getByRole('button', { name: 'Mint token' }).click();

  const shown = page.getByRole('status', { name: 'New token' });
  await shown.getByText('you will not see it again').waitFor();
  const token = await shown.getByTestId('new-token').inputValue();

  // A real token: signed by the hub's key, for fx-mcp, with the scope asked for, for 7 days.
  const jwks = createLocalJWKSet(await (await fetch(`${url}/.well-known/jwks.json`)).json());
  const { payload } = await jwtVerify(token, jwks, { audience: 'fx-mcp', issuer: url });
  expect(payload.scope).toBe('fx-mcp:read');
  expect(payload.sub).toBe('backup script');
  const lifetime = (payload.exp as number) - (payload.iat as number);
  expect(Math.abs(lifetime - 7 * 24 * 3600)).toBeLessThan(60);
  const jti = payload.jti as string;

  // Listed as live, made by minting, with its subject.
  const card = page.getByTestId('token').filter({ hasText: jti });
  await card.waitFor();
  expect(await card.getByTestId('token-state').textContent()).toBe('live');
  expect(await card.textContent()).toContain('minted');
  expect(await card.textContent()).toContain('backup script');
  expect(await card.textContent()).toContain('fx-mcp:read');
  await shot(page, 'tokens-minted');

  await page.setViewportSize({ width: 360, height: 780 });
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    screen: window.innerWidth,
  }));
  expect(widths.page).toBeLessThanOrEqual(widths.screen);
  await shot(page, 'tokens-minted-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Shown once: after Done, and after a reload, the token itself is gone.
  await shown.getByRole('button', { name: 'Done' }).click();
  await shown.waitFor({ state: 'detached' });
  await page.reload();
  await card.waitFor();
  expect(await page.content()).not.toContain(token);

  // Revoking asks first, naming the scopes; cancelling does nothing.
  await card.getByRole('button', { name: 'Revoke' }).click();
  await card.getByText('Revoke the token for fx-mcp:read?').waitFor();
  await shot(page, 'tokens-revoke-confirm');
  await card.getByRole('button', { name: 'Cancel' }).click();
  expect(await card.getByTestId('token-state').textContent()).toBe('live');
  expect(await revocationList()).not.toContain(jti);

  await card.getByRole('button', { name: 'Revoke' }).click();
  await card.getByRole('button', { name: 'Yes, revoke' }).click();
  await card.getByTestId('token-state').getByText('revoked').waitFor();
  expect(await card.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
  expect(await revocationList()).toContain(jti);

  // Still listed as revoked after a reload (the list asks for revoked=all).
  await page.reload();
  await card.getByTestId('token-state').getByText('revoked').waitFor();
  await shot(page, 'tokens-revoked');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'tokens-revoked-dark');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 60_000);

test("a refused mint shows the hub's reason next to the form", async () => {
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/tokens`);
  const form = page.getByRole('form', { name: 'Mint a token' });
  await form.getByLabel('Scopes').fill('parachute:host:admin');
  await form.getByRole('button', { name: 'Mint token' }).click();
  await form
    .getByRole('alert')
    .getByText("parachute:host:admin is the hub's own; it is never minted here.")
    .waitFor();
  expect(await page.getByRole('status', { name: 'New token' }).count()).toBe(0);

  // Tags are for vault scopes only: said before anything is asked of the hub.
  await form.getByLabel('Scopes').fill('fx-mcp:read');
  await form.getByLabel('Tags (optional)').fill('work');
  await form.getByRole('button', { name: 'Mint token' }).click();
  await form.getByRole('alert').getByText('Tags limit vault scopes only').waitFor();

  await page.setViewportSize({ width: 360, height: 780 });
  await shot(page, 'tokens-error-phone');
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('a user who is not an admin has no Tokens page', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, FRIEND.username, FRIEND.password);
  const nav = page.getByRole('navigation', { name: 'Admin sections' });
  const links = await nav.getByRole('link').allTextContents();
  expect(links).toContain('Account');
  expect(links).not.toContain('Tokens');
  await page.goto(`${url}/admin/tokens`);
  await page.getByText('Only admins can see and mint tokens.').waitFor();
  expect(await page.getByRole('form', { name: 'Mint a token' }).count()).toBe(0);
  await context.close();
}, 30_000);

test('a vault token with tags, and revoking a token ends those minted with it', async () => {
  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/tokens`);
  const form = page.getByRole('form', { name: 'Mint a token' });
  await form.getByLabel('Scopes').fill('vault:alpha:read');
  await form.getByLabel('Tags (optional)').fill('work, home');
  await form.getByRole('button', { name: 'Mint token' }).click();
  const token = await page
    .getByRole('status', { name: 'New token' })
    .getByTestId('new-token')
    .inputValue();
  const jwks = createLocalJWKSet(await (await fetch(`${url}/.well-known/jwks.json`)).json());
  const { payload } = await jwtVerify(token, jwks, { audience: 'vault.alpha', issuer: url });
  expect(payload.permissions).toEqual({ scoped_tags: ['work', 'home'] });
  const tagged = page.getByTestId('token').filter({ hasText: payload.jti as string });
  expect(await tagged.textContent()).toContain('work, home');

  // A vault admin token (minted with the API) mints a narrower one with its own authority.
  const parent = await operator('POST', '/api/auth/mint-token', { scope: 'vault:beta:admin' });
  expect(parent.status).toBe(200);
  const child = await new ApiClient(url, { origin: null }).post(
    '/api/auth/mint-token',
    { scope: 'vault:beta:read' },
    { authorization: `Bearer ${parent.json.token}` },
  );
  expect(child.status).toBe(200);
  await page.reload();
  const parentCard = page.getByTestId('token').filter({ hasText: parent.json.jti as string });
  const childCard = page.getByTestId('token').filter({ hasText: child.json.jti as string });
  await childCard.getByTestId('token-state').getByText('live').waitFor();
  await parentCard.getByRole('button', { name: 'Revoke' }).click();
  await parentCard.getByText('Revoke the token for vault:beta:admin?').waitFor();
  await parentCard.getByRole('button', { name: 'Yes, revoke' }).click();
  await parentCard.getByTestId('token-state').getByText('revoked').waitFor();
  // The list is read again, so the child shows its end without a reload.
  await childCard.getByTestId('token-state').getByText('revoked').waitFor();
  expect(await revocationList()).toContain(child.json.jti as string);
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);

test('more than a page of tokens: Load more shows the rest', async () => {
  // 51 more through the API with the operator token: more than a page, whatever came before.
  for (let i = 0; i < 51; i++) {
    const res = await operator('POST', '/api/auth/mint-token', {
      scope: 'fx-mcp:read',
      expires_in: 3600,
      subject: `batch ${i}`,
    });
    expect(res.status).toBe(200);
  }
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/tokens`);
  const cards = page.getByTestId('token');
  await page.getByRole('button', { name: 'Load more' }).waitFor();
  expect(await cards.count()).toBe(50);
  await page.getByRole('button', { name: 'Load more' }).click();
  // The button reads "Loading…" while the page loads: wait for the last card itself.
  const recorded = await recordedCount();
  await cards.nth(recorded - 1).waitFor();
  expect(await cards.count()).toBe(recorded);
  // Nothing is left to load: the button is gone, not just busy.
  await page.locator('.load-more').waitFor({ state: 'detached' });
  // Newest first: the revoked one from the first test comes last.
  expect(await cards.last().textContent()).toContain('backup script');
  expect(await cards.last().getByTestId('token-state').textContent()).toBe('revoked');
  await page.close();
}, 60_000);

test('the hub’s own credentials rotate from the page: the old operator token stops, new tokens get a new key', async () => {
  const home = hubs[0]?.home as string;
  const before = (await Bun.file(`${home}/operator.token`).text()).trim();
  const asBefore = () =>
    new ApiClient(url, { origin: null }).get('/api/modules', { authorization: `Bearer ${before}` });
  expect((await asBefore()).status).toBe(200);
  const kidsBefore = (
    (await new ApiClient(url).get('/.well-known/jwks.json')).json.keys as {
      kid: string;
    }[]
  ).map((k) => k.kid);

  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/tokens`);
  await page.getByRole('button', { name: 'Rotate operator token' }).click();
  await page.getByRole('button', { name: 'Yes, rotate it' }).click();
  await page.getByRole('status').getByText('the previous one no longer works').waitFor();
  const after = (await Bun.file(`${home}/operator.token`).text()).trim();
  expect(after).not.toBe(before);
  expect((await asBefore()).status).toBe(401);
  // The CLI reads the file each time: it goes on working with the new token.
  expect((await operator('GET', '/api/modules')).status).toBe(200);

  await page.getByRole('button', { name: 'Rotate signing key' }).click();
  await page.getByRole('button', { name: 'Yes, rotate it' }).click();
  const said = await page
    .getByRole('status')
    .getByText('New tokens are signed with key')
    .textContent();
  const kid = /key (\S+);/.exec(said ?? '')?.[1] as string;
  const kidsAfter = (
    (await new ApiClient(url).get('/.well-known/jwks.json')).json.keys as {
      kid: string;
    }[]
  ).map((k) => k.kid);
  // The old keys stay published (their tokens still verify); the new one is added.
  expect(kidsAfter).toEqual(expect.arrayContaining([...kidsBefore, kid]));
  const minted = await operator('POST', '/api/auth/mint-token', { scope: 'fx-mcp:read' });
  const header = JSON.parse(
    Buffer.from((minted.json.token as string).split('.')[0] as string, 'base64url').toString(),
  );
  expect(header.kid).toBe(kid);
  if (process.env.SCREENSHOT_DIR) {
    await page
      .getByRole('region', { name: 'Hub credentials' })
      .screenshot({ path: `${process.env.SCREENSHOT_DIR}/tokens-rotated.png` });
  }
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 60_000);
