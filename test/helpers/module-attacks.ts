import { expect } from 'bun:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN } from './api.ts';
import type { OperatorCall } from './modules.ts';

/** What fx-evil's page reports (test/fixtures/modules/README.md); each entry is `status body` or `threw: ...`. */
export interface AttackResults {
  cookie: string;
  createUser: string[];
  session: string[];
  /** The cookie mint of its own module's token, per origin tried (`TOKEN <status> {aud, scope}` when it got one). */
  own: string[];
  /** Every other token it tried for, one labelled line each; any token shows as `TOKEN <status> {aud, scope}`. */
  mint: string[];
  serviceWorker: string[];
  clear: string[];
}

/** A fresh browser context with the admin signed in through the hub's own login page. */
export function adminContext(browser: Browser, hubUrl: string): Promise<BrowserContext> {
  return signedInContext(browser, hubUrl, ADMIN.username, ADMIN.password);
}

/** A fresh browser context with this user signed in through the hub's own login page. */
export async function signedInContext(
  browser: Browser,
  hubUrl: string,
  username: string,
  password: string,
): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${hubUrl}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
  return context;
}

/** Opens an fx-evil page and waits until its script has tried every attack. */
export async function runAttacks(page: Page, url: string): Promise<AttackResults> {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'attacks done', undefined, {
    timeout: 20_000,
  });
  return JSON.parse((await page.locator('#results').textContent()) ?? '{}');
}

/** The hub's cookies in a browser context, name → value. */
export async function hubCookies(
  context: BrowserContext,
  hubUrl: string,
): Promise<Map<string, string>> {
  const cookies = await context.cookies(hubUrl);
  return new Map(
    cookies.filter((c) => c.name.includes('parachute_')).map((c) => [c.name, c.value]),
  );
}

/** Usernames of every account on the hub. */
export async function usernames(call: OperatorCall): Promise<string[]> {
  const list = (await call('GET', '/api/users')).json.users as { username: string }[];
  return list.map((u) => u.username);
}

/**
 * What a module must never do to the hub in the browser, checked on the
 * hub's side: after its page ran and the visitor also opened its
 * cookie-clearing page, the admin's cookies are exactly what they were, the
 * admin is still signed in, and no service worker answers /admin or /login.
 */
export async function expectHubIntact(
  context: BrowserContext,
  hubUrl: string,
  before: Map<string, string>,
): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${hubUrl}/fx-evil/clear`);
  expect(await hubCookies(context, hubUrl)).toEqual(before);
  for (const path of ['/admin/', '/login']) {
    await page.goto(`${hubUrl}${path}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.content()).not.toContain('pwned');
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toBe(
      null,
    );
  }
  const scopes = await page.evaluate(async () =>
    (await navigator.serviceWorker.getRegistrations()).map((r) => new URL(r.scope).pathname),
  );
  expect(scopes.filter((s) => '/admin/'.startsWith(s) || '/login'.startsWith(s))).toEqual([]);
  await page.close();
}
