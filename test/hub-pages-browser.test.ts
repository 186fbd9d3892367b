import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

// The hub's own pages in Chromium against the real binary (issue 16 point
// 6): `/`, a stopped module (502), a starting one (503), not found, a host
// name that is not the hub's (421) and the consent page, each at phone and
// desktop width, light and dark: styled (the CSP lets the page's style
// through), no sideways scrolling on a phone, and nothing a path carries runs.

const hubs = trackHubs();
let url: string;
let port: string;
let call: OperatorCall;
let browser: Browser;
/** The admin, signed in. */
let admin: BrowserContext;
let consentUrl: string;

const VIEWPORTS = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;
/** The page background in each scheme (web/src/styles.css --bg). */
const BACKGROUND = { light: 'rgb(247, 248, 250)', dark: 'rgb(18, 22, 29)' } as const;

beforeAll(async () => {
  ({ url, call } = await hubWithOperator(hubs));
  port = new URL(url).port;
  for (const fixture of ['good', 'ui'] as const) {
    expect((await install(call, { package: await packFixture(fixture) })).state).toBe('succeeded');
  }
  // Given as long to bind as the test runs: past its ready timeout it would be `unbound` (502).
  const lateBind = JSON.parse(
    await Bun.file(`${import.meta.dir}/fixtures/modules/late-bind/.parachute/module.json`).text(),
  );
  const installed = await install(call, {
    package: await packFixture('late-bind'),
    manifest: { ...lateBind, readyTimeoutMs: 600_000 },
  });
  expect(installed.state).toBe('succeeded');
  await running(call, 'fx-good');
  await running(call, 'fx-ui');
  await running(call, 'fx-late-bind');
  // fx-good stopped (502); fx-late-bind restarted with a bind delay longer than the test (503).
  expect((await call('POST', '/api/modules/fx-good/stop')).json.state).toBe('stopped');
  await call('PUT', '/api/modules/fx-late-bind/env', {
    values: { FIXTURE_BIND_DELAY_MS: '600000' },
  });
  await call('POST', '/api/modules/fx-late-bind/restart');
  await waitFor('fx-late-bind starting', async () =>
    (await moduleNamed(call, 'fx-late-bind'))?.state === 'starting' ? true : undefined,
  );

  // An app asking for access: its authorization request is what the consent page shows.
  const registered = await fetch(`${url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Pocket Notes for Android',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }),
  });
  expect(registered.status).toBe(201);
  const { client_id } = (await registered.json()) as { client_id: string };
  const challenge = createHash('sha256')
    .update(randomBytes(32).toString('base64url'))
    .digest('base64url');
  consentUrl = `${url}/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id,
    redirect_uri: 'http://127.0.0.1:9/cb',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's',
    scope: 'fx-ui:read',
  })}`;

  // *.localhost resolves to this machine in Chromium: a name the hub does not answer to.
  browser = await launchBrowser();
  admin = await browser.newContext();
  const page = await admin.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 180_000);
afterAll(async () => {
  await browser?.close();
});

/**
 * Chromium reports every error status a page or fetch got as "Failed to
 * load resource"; those are the point here. Anything else (a CSP violation
 * above all) is a fault.
 */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (e) => !/^Failed to load resource: the server responded with a status/.test(e),
  );
}

/** The hub's pages: where, the status, and the heading a person sees first. */
const PAGES = [
  { name: 'home', path: '/', status: 200, heading: 'This hub' },
  {
    name: 'stopped',
    path: '/fx-good/',
    status: 502,
    heading: 'Fixture: good is stopped',
  },
  {
    name: 'starting',
    path: '/fx-late-bind/',
    status: 503,
    heading: 'Fixture: late bind is starting',
  },
  { name: 'not-found', path: '/photos/2024/<b>x</b>', status: 404, heading: 'Page not found' },
  { name: 'wrong-host', path: '/', status: 421, heading: 'This hub does not answer to' },
  { name: 'consent', path: '', status: 200, heading: 'Pocket Notes for Android wants to access' },
] as const;

async function open(page: Page, name: (typeof PAGES)[number]['name'], path: string) {
  if (name === 'consent') return page.goto(consentUrl);
  if (name === 'wrong-host') return page.goto(`http://rebind.localhost:${port}${path}`);
  return page.goto(`${url}${path}`);
}

describe('every hub page, at phone and desktop width, light and dark', () => {
  for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
    for (const scheme of ['light', 'dark'] as const) {
      test(`${viewportName}, ${scheme}`, async () => {
        const page = await admin.newPage();
        await page.setViewportSize(viewport);
        await page.emulateMedia({ colorScheme: scheme });
        const errors = collectPageErrors(page);
        for (const spec of PAGES) {
          const res = await open(page, spec.name, spec.path);
          expect(res?.status()).toBe(spec.status);
          const heading = page.getByRole('heading', { level: 1, name: spec.heading });
          await heading.waitFor();
          // The page's own style applied (its CSP hash matches), in the scheme asked for.
          const background = await page.evaluate(
            () => getComputedStyle(document.body.parentElement as HTMLElement).backgroundColor,
          );
          expect(`${spec.name}: ${background}`).toBe(`${spec.name}: ${BACKGROUND[scheme]}`);
          const overflow = await page.evaluate(() => {
            const root = document.documentElement;
            return root.scrollWidth - root.clientWidth;
          });
          expect(`${spec.name} overflows by ${overflow}px`).toBe(`${spec.name} overflows by 0px`);
          await shot(page, `hub-pages-${spec.name}-${viewportName}-${scheme}`);
        }
        expect(unexpected(errors)).toEqual([]);
        await page.close();
      }, 60_000);
    }
  }
});

test('a stopped module’s page takes an admin to its card on the Modules page; a visitor can sign in and land there', async () => {
  const page = await admin.newPage();
  await page.goto(`${url}/fx-good/`);
  await page.getByRole('link', { name: 'Open in Modules' }).click();
  await page.waitForURL(`${url}/admin/modules#module-parachute-fixture-good`);
  const card = page.getByRole('listitem', { name: 'Fixture: good' });
  await card.waitFor();
  expect(await card.getAttribute('class')).toContain('targeted');
  expect(await card.isVisible()).toBe(true);
  // Nothing was started by following the link: the admin starts it here.
  expect((await moduleNamed(call, 'fx-good'))?.state).toBe('stopped');
  await page.close();

  const visitor = await browser.newContext();
  const anonymous = await visitor.newPage();
  expect((await anonymous.goto(`${url}/fx-good/`))?.status()).toBe(502);
  await anonymous.getByText('Ask the person who runs this hub to start it.').waitFor();
  expect(await anonymous.getByRole('link', { name: 'Open in Modules' }).count()).toBe(0);
  await shot(anonymous, 'hub-pages-stopped-visitor');
  // The person who runs the hub signs in from there and lands on the module's card.
  await anonymous.getByRole('link', { name: 'Admin sign-in' }).click();
  await anonymous.getByLabel('Username').fill(ADMIN.username);
  await anonymous.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await anonymous.getByRole('button', { name: 'Sign in' }).click();
  await anonymous.waitForURL(`${url}/admin/modules#module-parachute-fixture-good`);
  const landed = anonymous.getByRole('listitem', { name: 'Fixture: good' });
  await landed.waitFor();
  expect(await landed.getAttribute('class')).toContain('targeted');
  await shot(anonymous, 'hub-pages-stopped-modules-card');
  await visitor.close();
}, 60_000);

test('markup in a path is shown as text on the not-found page and never runs', async () => {
  const page = await admin.newPage();
  const errors = collectPageErrors(page);
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs++;
    void d.dismiss();
  });
  await page.goto(`${url}/x"><script>alert(1)</script><img src=x onerror=alert(2)>`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  expect(await page.locator('script, img').count()).toBe(0);
  expect(await page.locator('main').textContent()).toContain('script');
  expect(dialogs).toBe(0);
  expect(unexpected(errors)).toEqual([]);
  await page.close();
}, 30_000);
