import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { adminContext, signedInContext } from './helpers/module-attacks.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

// A module's admin page calling the hub's cookie-gated mint the way
// upstream scribe's does (test/fixtures/modules/scribe): GET
// /admin/module-token/fx-scribe with the visitor's session, then its own API
// with the token as a bearer. In Chromium against the real binary, with the
// module installed from a tarball, once with modules on the hub's origin and
// once on their own origins under an apps domain (modules.md sections 7-8).

const APPS = 'apps.parachute.localhost';
const hubs = trackHubs();
let browser: Browser;

/** The hub with modules on its own origin. */
const shared = { url: '', call: undefined as unknown as OperatorCall };
/** The hub with an apps domain: `url` for the operator's calls, `hubUrl` as browsers use it. */
const apps = { url: '', hubUrl: '', port: '', call: undefined as unknown as OperatorCall };
const moduleUrl = (module: string) => `http://${module}.${APPS}:${apps.port}`;

beforeAll(async () => {
  // One hub after the other: each gives fx-scribe its manifest's port when it is free.
  ({ url: shared.url, call: shared.call } = await hubWithOperator(hubs));
  expect((await install(shared.call, { package: await packFixture('scribe') })).state).toBe(
    'succeeded',
  );
  await running(shared.call, 'fx-scribe');

  ({ url: apps.url, call: apps.call } = await hubWithOperator(hubs, {
    PARACHUTE_APPS_DOMAIN: APPS,
  }));
  apps.port = new URL(apps.url).port;
  apps.hubUrl = `http://hub.parachute.localhost:${apps.port}`;
  expect((await apps.call('PUT', '/api/hub/origin', { origin: apps.hubUrl })).status).toBe(200);
  for (const fixture of ['scribe', 'ui'] as const) {
    expect((await install(apps.call, { package: await packFixture(fixture) })).state).toBe(
      'succeeded',
    );
  }
  await running(apps.call, 'fx-scribe');
  await running(apps.call, 'fx-ui');
  browser = await launchBrowser([`--host-resolver-rules=MAP *.parachute.localhost 127.0.0.1`]);
}, 180_000);
afterAll(async () => {
  await browser?.close();
});

/** What fx-scribe's admin page reports (test/fixtures/modules/README.md). */
interface ScribeResults {
  mints: (number | string)[];
  api: number[];
  seen?: { sub: string; scope: string; aud: string };
  error?: string;
  hubError?: string;
}

/** Waits for fx-scribe's admin page script to finish and returns what it reported. */
async function scribeResults(page: Page): Promise<ScribeResults> {
  await page.waitForFunction(() => document.title === 'scribe done', undefined, {
    timeout: 20_000,
  });
  return JSON.parse((await page.locator('#results').textContent()) ?? '{}');
}

/** Opens fx-scribe's admin page at `url` and returns what its script reported. */
async function openScribe(page: Page, url: string): Promise<ScribeResults> {
  await page.goto(url);
  return scribeResults(page);
}

/** Every request fx-scribe's API has had: whether it carried a bearer, and its status. */
async function apiCalls(hubUrl: string): Promise<{ bearer: boolean; status: number }[]> {
  const res = await fetch(`${hubUrl}/fx-scribe/calls`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { calls: { bearer: boolean; status: number }[] }).calls;
}

async function userId(call: OperatorCall, username: string): Promise<string> {
  const list = (await call('GET', '/api/users')).json.users as { id: string; username: string }[];
  const user = list.find((u) => u.username === username);
  if (!user) throw new Error(`no user ${username}`);
  return user.id;
}

/** Creates an account and replaces its temporary password; returns the password it now has. */
async function newUser(
  call: OperatorCall,
  url: string,
  username: string,
  role: 'admin' | 'user',
): Promise<string> {
  const created = await call('POST', '/api/users', { username, role });
  expect(created.status).toBe(201);
  const client = new ApiClient(url);
  await client.login(username, created.json.temporary_password as string);
  const password = `${username} picked a long password`;
  const changed = await client.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: password,
  });
  expect(changed.status).toBe(204);
  return password;
}

/**
 * Fetches `target` from a page as a module page would (GET, credentials
 * included) and reports what the page could read: the status and whether
 * the body carried a token, or that the browser refused to hand it over.
 * `no-cors` asks for an opaque answer.
 */
function fetchFrom(page: Page, target: string, mode: RequestMode = 'cors'): Promise<string> {
  return page.evaluate(
    async ([url, mode]) => {
      try {
        const res = await fetch(url, { credentials: 'include', mode });
        const text = await res.text();
        return `${res.status}${text.includes('"token"') ? ' TOKEN' : ''} ${text.slice(0, 200)}`;
      } catch (e) {
        return `threw: ${e}`;
      }
    },
    [target, mode] as const,
  );
}

/** One request as it crossed the wire: the headers Chromium sent and the status it got back. */
interface WireRecord {
  url: string;
  headers: Record<string, string>;
  status?: number;
}

/**
 * Chromium's own record of the page's requests (DevTools protocol), whether
 * or not the page was let read the answers; returns the records for a URL.
 */
async function onTheWire(page: Page): Promise<(url: string) => WireRecord[]> {
  const cdp = await page.context().newCDPSession(page);
  const records = new Map<string, WireRecord>();
  const record = (id: string) => {
    let found = records.get(id);
    if (!found) {
      found = { url: '', headers: {} };
      records.set(id, found);
    }
    return found;
  };
  cdp.on('Network.requestWillBeSent', (e) => {
    record(e.requestId).url = e.request.url;
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const headers = record(e.requestId).headers;
    for (const [name, value] of Object.entries(e.headers)) headers[name.toLowerCase()] = `${value}`;
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    record(e.requestId).status = e.statusCode;
  });
  await cdp.send('Network.enable');
  return (url) => [...records.values()].filter((r) => r.url === url);
}

describe('modules on the hub’s origin', () => {
  test("an admin's module page gets the module's token, and its API sees the admin", async () => {
    const context = await adminContext(browser, shared.url);
    const page = await context.newPage();
    const results = await openScribe(page, `${shared.url}/fx-scribe/admin`);
    expect(results).toMatchObject({ mints: [200], api: [200] });
    expect(results.seen).toEqual({
      sub: await userId(shared.call, 'admin'),
      scope: 'fx-scribe:admin',
      aud: 'fx-scribe',
    });
    expect(await page.locator('#message').textContent()).toStartWith('Signed in as usr_');
    await context.close();
  }, 60_000);

  test('signed out, the page says so and its API never gets a token', async () => {
    const before = (await apiCalls(shared.url)).length;
    // A visitor who never signed in.
    const stranger = await browser.newContext();
    const page = await stranger.newPage();
    const results = await openScribe(page, `${shared.url}/fx-scribe/admin`);
    expect(results).toMatchObject({
      mints: [401],
      api: [],
      hubError: 'unauthenticated',
      error: 'Not signed in to the hub',
    });
    expect(await page.locator('#message').textContent()).toBe('Not signed in to the hub');
    await stranger.close();

    // The admin, after signing out of the hub in the admin UI.
    const context = await adminContext(browser, shared.url);
    const admin = await context.newPage();
    expect((await openScribe(admin, `${shared.url}/fx-scribe/admin`)).api).toEqual([200]);
    await admin.goto(`${shared.url}/admin/`);
    await admin.getByRole('button', { name: 'Sign out' }).click();
    await admin.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await openScribe(admin, `${shared.url}/fx-scribe/admin`)).toMatchObject({
      mints: [401],
      api: [],
      error: 'Not signed in to the hub',
    });
    await context.close();

    // The module saw one call, the signed-in one, and none without a token.
    const calls = (await apiCalls(shared.url)).slice(before);
    expect(calls).toEqual([{ bearer: true, status: 200 }]);
  }, 60_000);

  test('a user who is not an admin is told only an admin may, and gets no token', async () => {
    const password = await newUser(shared.call, shared.url, 'fred', 'user');
    const before = (await apiCalls(shared.url)).length;
    const context = await signedInContext(browser, shared.url, 'fred', password);
    const results = await openScribe(await context.newPage(), `${shared.url}/fx-scribe/admin`);
    expect(results).toMatchObject({
      mints: [403],
      api: [],
      hubError: 'not_admin',
      error: 'Only the hub admin can manage fx-scribe',
    });
    expect((await apiCalls(shared.url)).length).toBe(before);
    await context.close();
  }, 60_000);

  test('an admin who is deleted loses the page’s token at once', async () => {
    const password = await newUser(shared.call, shared.url, 'carol', 'admin');
    const carol = await userId(shared.call, 'carol');
    const context = await signedInContext(browser, shared.url, 'carol', password);
    const page = await context.newPage();
    expect((await openScribe(page, `${shared.url}/fx-scribe/admin`)).seen?.sub).toBe(carol);
    // A token the page already holds, as its script would keep it.
    const held = await page.evaluate(async () => {
      const res = await fetch('/admin/module-token/fx-scribe', { credentials: 'include' });
      return ((await res.json()) as { token: string }).token;
    });
    const config = () =>
      fetch(`${shared.url}/fx-scribe/api/config`, { headers: { authorization: `Bearer ${held}` } });
    expect((await config()).status).toBe(200);

    expect((await shared.call('DELETE', `/api/users/${carol}`)).status).toBe(204);
    // No waiting: her session ended with her account.
    expect(await openScribe(page, `${shared.url}/fx-scribe/admin`)).toMatchObject({
      mints: [401],
      api: [],
      error: 'Not signed in to the hub',
    });
    // And the token the page held is on the revocation list: the module
    // refuses it once it re-reads the list (every second), not ten minutes later.
    await waitFor('fx-scribe to refuse the deleted admin’s token', async () =>
      (await config()).status === 401 ? true : undefined,
    );
    await context.close();
  }, 60_000);
});

describe('modules on their own origins (apps domain)', () => {
  /** The admin, signed in to the hub and then, through it, to fx-scribe's own origin. */
  async function adminOnScribe(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await adminContext(browser, apps.hubUrl);
    const page = await context.newPage();
    await page.goto(`${moduleUrl('fx-scribe')}/api/module-session/start?next=/fx-scribe/admin`);
    await page.waitForURL(`${moduleUrl('fx-scribe')}/fx-scribe/admin`);
    return { context, page };
  }

  test('the admin page on its own origin gets its own token once signed in to it, and its API sees the admin', async () => {
    const context = await adminContext(browser, apps.hubUrl);
    const page = await context.newPage();
    // Opened from the hub's origin, the page moves to its own, where the hub session is not sent.
    let results = await openScribe(page, `${apps.hubUrl}/fx-scribe/admin`);
    expect(page.url()).toBe(`${moduleUrl('fx-scribe')}/fx-scribe/admin`);
    expect(results).toMatchObject({ mints: [401], api: [], hubError: 'unauthenticated' });

    // Signing in to the module's origin goes through the hub and back to the page.
    await page.goto(`${moduleUrl('fx-scribe')}/api/module-session/start?next=/fx-scribe/admin`);
    await page.waitForURL(`${moduleUrl('fx-scribe')}/fx-scribe/admin`);
    results = await scribeResults(page);
    expect(results).toMatchObject({ mints: [200], api: [200] });
    expect(results.seen).toEqual({
      sub: await userId(apps.call, 'admin'),
      scope: 'fx-scribe:admin',
      aud: 'fx-scribe',
    });
    await context.close();
  }, 60_000);

  test("on its own origin a page gets no other module's token and not the hub's", async () => {
    const { context, page } = await adminOnScribe();
    expect((await scribeResults(page)).api).toEqual([200]);
    const otherModule = await fetchFrom(page, '/admin/module-token/fx-ui');
    expect(otherModule).toStartWith('403 ');
    expect(otherModule).toContain('"wrong_module"');
    const host = await fetchFrom(page, '/admin/host-admin-token');
    expect(host).toStartWith('403 ');
    expect(host).toContain('"wrong_module"');
    await context.close();
  }, 60_000);

  test("pages of another origin get nothing from fx-scribe's mint or the hub's", async () => {
    const { context, page: scribe } = await adminOnScribe();
    expect((await scribeResults(scribe)).api).toEqual([200]);
    // The admin is signed in to the hub, to fx-scribe's origin and to fx-ui's.
    // (A page of fx-ui's origin outside its service worker's scope, so its requests are its own.)
    const ui = await context.newPage();
    await ui.goto(`${moduleUrl('fx-ui')}/api/module-session/start?next=/api/module-session`);
    await ui.waitForURL(`${moduleUrl('fx-ui')}/api/module-session`);
    expect(await ui.locator('body').textContent()).toContain('"module":"fx-ui"');
    // (A document of the hub's origin without the admin UI's CSP, whose
    // connect-src 'self' would stop the requests before they leave.)
    const hub = await context.newPage();
    await hub.goto(`${apps.hubUrl}/api/auth/session`);
    expect(await hub.locator('body').textContent()).toContain('"username":"admin"');

    const targets = [
      `${moduleUrl('fx-scribe')}/admin/module-token/fx-scribe`,
      `${apps.hubUrl}/admin/module-token/fx-scribe`,
      `${apps.hubUrl}/admin/host-admin-token`,
    ];
    const wire = new Map([
      [ui, await onTheWire(ui)],
      [hub, await onTheWire(hub)],
    ]);
    for (const [page, from] of [
      [ui, moduleUrl('fx-ui')],
      [hub, apps.hubUrl],
    ] as const) {
      for (const target of targets) {
        if (target.startsWith(from)) continue;
        // The browser hands the page nothing: no CORS grant, and asked for an
        // opaque answer, an empty one or none (Chromium's ORB blocks JSON)...
        expect(await fetchFrom(page, target)).toStartWith('threw: TypeError');
        expect(await fetchFrom(page, target, 'no-cors')).toMatch(/^(0 $|threw: TypeError)/);
        // ...and the hub refused both itself, though the admin's cookie for
        // that origin went along (Fetch Metadata: not a page of that origin).
        const sent = await waitFor(`both answers from ${target}`, () => {
          const found = wire.get(page)?.(target) ?? [];
          return found.length === 2 && found.every((r) => r.status) ? found : undefined;
        });
        for (const request of sent) {
          expect(request.status).toBe(403);
          expect(request.headers['sec-fetch-site']).toBe('same-site');
          expect(request.headers.cookie).toContain('parachute_');
        }
      }
    }
    await context.close();
  }, 60_000);

  test('an admin who is deleted loses the page’s token on the module’s origin at once', async () => {
    const password = await newUser(apps.call, apps.url, 'carol', 'admin');
    const carol = await userId(apps.call, 'carol');
    const context = await signedInContext(browser, apps.hubUrl, 'carol', password);
    const page = await context.newPage();
    await page.goto(`${moduleUrl('fx-scribe')}/api/module-session/start?next=/fx-scribe/admin`);
    await page.waitForURL(`${moduleUrl('fx-scribe')}/fx-scribe/admin`);
    expect((await scribeResults(page)).seen?.sub).toBe(carol);

    expect((await apps.call('DELETE', `/api/users/${carol}`)).status).toBe(204);
    // Her session for fx-scribe's origin hung off her hub session, which ended with her account.
    expect(await openScribe(page, `${moduleUrl('fx-scribe')}/fx-scribe/admin`)).toMatchObject({
      mints: [401],
      api: [],
      hubError: 'unauthenticated',
      error: 'Not signed in to the hub',
    });
    await context.close();
  }, 60_000);
});
