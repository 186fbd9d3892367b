import { afterAll, beforeAll, expect, test } from 'bun:test';
import jsQR from 'jsqr';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '../src/auth/totp.ts';
import { ADMIN } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import {
  collectPageErrors,
  launchBrowser,
  shot,
  submitSignIn,
  unexpectedErrors,
} from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

// One admin runs the whole hub from the browser, as on a host with no shell:
// installs modules from uploaded tarballs, follows a flood of logs, edits a
// setting, stops one (502), restarts a crashed one, approves an app, mints
// and revokes a token, adds a user who must choose a password, turns on
// two-factor from the QR code; then finds each of those in the audit log.
// Every step is the UI; only the app is an outside client (oauth4webapi).

/** The flood the log viewer follows live after the setting raises it. */
const FLOOD = 100_000;
/** Generous: a loaded 2-core machine hashes passwords and installs slowly. */
const LONG = 180_000;
const STEP = 60_000;

const hubs = trackHubs();
let url: string;
let browser: Browser;
let admin: BrowserContext;
/** The Modules page, kept open: the list follows by its event stream. */
let modules: Page;
/** Console errors of the Modules page, checked at the end. */
let modulesErrors: string[] = [];
/** Things the audit log must name, found as the journey goes. */
const seen = { tokenJti: '', clientId: '' };

beforeAll(async () => {
  // Modules inherit the hub's environment: fx-flood floods little at install.
  const started = await hubWithOperator(hubs, { FLOOD_LINES: '2000' });
  url = started.url;
  browser = await launchBrowser();
  admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  admin.setDefaultTimeout(STEP);
}, LONG);
afterAll(async () => {
  await browser?.close();
});

const card = (page: Page, label: string) => page.getByRole('listitem', { name: label });
const nav = (page: Page, section: string) =>
  page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: section, exact: true })
    .click();

/** Uploads a fixture's .tgz on the Modules page and waits for its card to reach `state`. */
async function uploadFixture(fixture: string, label: string, state: string) {
  await modules.getByLabel('Or upload a .tgz').setInputFiles(await packFixture(fixture));
  await modules.getByRole('button', { name: 'Upload and install' }).click();
  try {
    await card(modules, label)
      .getByTestId('module-state')
      .getByText(state, { exact: true })
      .waitFor({ timeout: 2 * STEP });
  } catch (error) {
    // Within the test's own deadline, so the failure says what the page showed instead.
    const shown = await modules.locator('body').innerText();
    throw new Error(`${label} never became ${state} (${error}); the page showed:\n${shown}`);
  }
}

test(
  'the admin signs in (after one wrong password) and installs a module from an upload',
  async () => {
    const page = await admin.newPage();
    await submitSignIn(page, url, ADMIN.username, 'not the right password');
    await page.getByRole('alert').getByText('Wrong username or password').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.close();

    modules = await admin.newPage();
    modulesErrors = collectPageErrors(modules);
    await modules.goto(`${url}/admin/`);
    await nav(modules, 'Modules');
    await modules.getByRole('heading', { name: 'Modules', level: 1 }).waitFor();
    await uploadFixture('good', 'Fixture: good', 'running');
    const up = await modules.context().request.get(`${url}/fx-good/health`);
    expect(up.status()).toBe(200);
  },
  LONG,
);

test(
  'its logs follow live through a flood set by a module setting',
  async () => {
    await uploadFixture('flood', 'Fixture: flood', 'running');
    const flood = card(modules, 'Fixture: flood');
    // The setting: saved masked, applied by the restart below.
    await flood.getByText('Settings (.env)').click();
    await flood.getByLabel('Name').fill('FLOOD_LINES');
    await flood.getByLabel('Value').fill(String(FLOOD));
    await flood.getByRole('button', { name: 'Save setting' }).click();
    await flood.getByText('FLOOD_LINES', { exact: true }).waitFor();

    // The viewer in a second tab, following, before the flood begins.
    const logs = await admin.newPage();
    const pageErrors = collectPageErrors(logs);
    await logs.goto(`${url}/admin/`);
    await nav(logs, 'Logs');
    await logs.getByLabel('Source').selectOption('parachute-fixture-flood');
    await logs.getByText('Following live.').waitFor();
    await logs.evaluate(() => {
      const w = window as unknown as { maxRows: number };
      w.maxRows = 0;
      const tick = () => {
        w.maxRows = Math.max(w.maxRows, document.querySelectorAll('.log-row').length);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await flood.getByRole('button', { name: 'Restart now' }).click();
    const done = `flood done: ${FLOOD} lines`;
    await logs.locator('.log-row').filter({ hasText: done }).waitFor({ timeout: LONG });
    const last = `flood line ${String(FLOOD - 1).padStart(6, '0')}`;
    await logs.locator('.log-row').filter({ hasText: last }).waitFor();
    // Windowed: the page never held more than a screenful of rows.
    expect(
      await logs.evaluate(() => (window as unknown as { maxRows: number }).maxRows),
    ).toBeLessThan(200);
    await shot(logs, 'journey-logs-flood');
    expect(unexpectedErrors(pageErrors)).toEqual([]);
    await logs.close();
  },
  LONG,
);

test(
  'stopping a module shows the 502 page in its place',
  async () => {
    const good = card(modules, 'Fixture: good');
    await good.getByRole('button', { name: 'Stop', exact: true }).click();
    await good.getByTestId('module-state').getByText('stopped').waitFor();
    const page = await admin.newPage();
    const answer = await page.goto(`${url}/fx-good/`);
    expect(answer?.status()).toBe(502);
    await page.getByRole('heading', { name: /is stopped/ }).waitFor();
    await page.getByText('Start it from the Modules page of the admin UI').waitFor();
    // The page leads the admin to the module's own card.
    await page.getByRole('link', { name: 'Open in Modules' }).click();
    await page.waitForURL(/\/admin\/modules#module-/);
    await shot(page, 'journey-502');
    await page.close();
  },
  LONG,
);

test(
  'a crashed module shows its error, and starts again from its card',
  async () => {
    await uploadFixture('crash', 'Fixture: crash', 'crashed');
    const crash = card(modules, 'Fixture: crash');
    await crash
      .getByTestId('module-problem')
      .getByText(/exited with code 1/)
      .waitFor();
    expect(await crash.getByTestId('last-lines').textContent()).toContain('missing config');
    const when = crash.getByTestId('module-problem').locator('p.muted');
    const before = await when.textContent();
    await shot(modules, 'journey-crashed');
    // Times show to the second: start again once "now" reads differently, so the next crash does too.
    await modules.waitForFunction((shown) => `At ${new Date().toLocaleString()}` !== shown, before);
    await crash.getByRole('button', { name: 'Start', exact: true }).click();
    // Started anew, it crashes anew: the card says so with the new time.
    await waitFor(
      'a new crash report',
      async () => {
        const state = await crash.getByTestId('module-state').textContent();
        const at = await when.textContent().catch(() => null);
        return state === 'crashed' && at && at !== before ? true : undefined;
      },
      2 * STEP,
    );
  },
  LONG,
);

test(
  'an outside app asks for access and the admin approves it on the consent page',
  async () => {
    const callback = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () =>
        new Response('<!doctype html><title>App</title><h1>Back in the app</h1>', {
          headers: { 'content-type': 'text/html' },
        }),
    });
    try {
      const redirect = `http://127.0.0.1:${callback.port}/cb`;
      const insecure = { [oauth.allowInsecureRequests]: true } as const;
      const issuer = new URL(url);
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
      );
      const client = (await oauth.processDynamicClientRegistrationResponse(
        await oauth.dynamicClientRegistrationRequest(
          as,
          {
            client_name: 'Journey App',
            redirect_uris: [redirect],
            token_endpoint_auth_method: 'none',
          },
          insecure,
        ),
      )) as oauth.Client;
      seen.clientId = client.client_id;
      const verifier = oauth.generateRandomCodeVerifier();
      const authorize = new URL(as.authorization_endpoint as string);
      for (const [key, value] of Object.entries({
        client_id: client.client_id,
        redirect_uri: redirect,
        response_type: 'code',
        scope: 'fx-good:read',
        state: 'journey',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      })) {
        authorize.searchParams.set(key, value);
      }

      const page = await admin.newPage();
      await page.goto(authorize.href);
      await page
        .getByRole('heading', { name: 'Journey App wants to access your Parachute hub' })
        .waitFor();
      await shot(page, 'journey-consent');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
      const params = oauth.validateAuthResponse(as, client, new URL(page.url()), 'journey');
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as,
          client,
          oauth.None(),
          params,
          redirect,
          verifier,
          insecure,
        ),
      );
      expect(tokens.scope).toBe('fx-good:read');
      await page.close();
    } finally {
      callback.stop(true);
    }
  },
  LONG,
);

test(
  'the admin mints a token and revokes it',
  async () => {
    const page = await admin.newPage();
    const pageErrors = collectPageErrors(page);
    await page.goto(`${url}/admin/`);
    await nav(page, 'Tokens');
    const form = page.getByRole('form', { name: 'Mint a token' });
    await form.getByLabel('Scopes').fill('fx-good:read');
    await form.getByLabel('Subject (optional)').fill('journey script');
    await form.getByRole('button', { name: 'Mint token' }).click();
    const shown = page.getByRole('status', { name: 'New token' });
    const token = await shown.getByTestId('new-token').inputValue();
    const [, payload = ''] = token.split('.');
    seen.tokenJti = (
      JSON.parse(Buffer.from(payload, 'base64url').toString()) as { jti: string }
    ).jti;
    await shown.getByRole('button', { name: 'Done' }).click();
    const minted = page.getByTestId('token').filter({ hasText: seen.tokenJti });
    await minted.getByRole('button', { name: 'Revoke' }).click();
    await minted.getByRole('button', { name: 'Yes, revoke' }).click();
    await minted.getByTestId('token-state').getByText('revoked').waitFor();
    expect(unexpectedErrors(pageErrors)).toEqual([]);
    await page.close();
  },
  LONG,
);

test(
  'a new user signs in with the temporary password and must choose their own',
  async () => {
    const page = await admin.newPage();
    await page.goto(`${url}/admin/`);
    await nav(page, 'Users');
    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Username').fill('erin');
    await form.getByRole('button', { name: 'Add user' }).click();
    const temporary = await page
      .getByRole('status', { name: 'Temporary password' })
      .getByTestId('temporary-password')
      .inputValue();
    await page.close();

    const erin = await browser.newContext();
    erin.setDefaultTimeout(STEP);
    const own = await erin.newPage();
    await submitSignIn(own, url, 'erin', temporary);
    await own.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    const password = 'erin picked a long one herself';
    await own.getByLabel('Current password').fill(temporary);
    await own.getByLabel('New password', { exact: true }).fill(password);
    await own.getByLabel('Confirm new password').fill(password);
    await own.getByRole('button', { name: 'Set new password' }).click();
    await own.getByRole('heading', { name: 'Overview' }).waitFor();
    await erin.close();
  },
  LONG,
);

test(
  'the admin turns on two-factor sign-in by scanning the QR code, and renews its backup codes',
  async () => {
    const page = await admin.newPage();
    await page.goto(`${url}/admin/`);
    await nav(page, 'Account');
    const twoFactor = page.getByRole('region', { name: 'Two-factor authentication' });
    await twoFactor.getByRole('button', { name: 'Enable' }).click();
    const qr = page.getByRole('img', { name: 'QR code to add this hub to an authenticator app' });
    // What a phone camera sees: the drawn code as pixels, decoded by a QR reader.
    const image = await qr.evaluate(async (svg) => {
      // Four pixels a module, as the viewBox counts them (quiet zone included).
      const size = 4 * (svg as SVGSVGElement).viewBox.baseVal.width;
      const picture = new Image();
      picture.src = `data:image/svg+xml;base64,${btoa(new XMLSerializer().serializeToString(svg))}`;
      await picture.decode();
      const canvas = document.createElement('canvas');
      canvas.width = size;
      canvas.height = size;
      const draw = canvas.getContext('2d') as CanvasRenderingContext2D;
      draw.drawImage(picture, 0, 0, size, size);
      const rgba = draw.getImageData(0, 0, size, size).data;
      let binary = '';
      for (const byte of rgba) binary += String.fromCharCode(byte);
      return { size, rgba: btoa(binary) };
    });
    const pixels = new Uint8ClampedArray(Buffer.from(image.rgba, 'base64'));
    const scanned = jsQR(pixels, image.size, image.size);
    const uri = new URL(scanned?.data ?? 'about:blank');
    expect(uri.protocol).toBe('otpauth:');
    // The same URI the page offers to copy: the picture and the text agree.
    expect(scanned?.data).toBe((await page.getByTestId('totp-uri').textContent()) ?? '');
    const secret = uri.searchParams.get('secret') ?? '';
    await twoFactor.getByLabel('Authentication code').fill(totpCode(secret, Date.now()));
    await twoFactor.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await page.getByTestId('backup-codes').waitFor();
    await page.getByRole('button', { name: 'I have saved them' }).click();
    // Codes lost: new ones, for the password again.
    const backup = page.getByRole('region', { name: 'Backup codes' });
    await backup.getByLabel('Password').fill(ADMIN.password);
    await backup.getByRole('button', { name: 'New backup codes' }).click();
    await backup.getByText('the old ones no longer work').waitFor();
    await shot(page, 'journey-backup-codes');
    await backup.getByRole('button', { name: 'I have saved them' }).click();
    await backup.getByRole('button', { name: 'New backup codes' }).waitFor();
    await page.close();
  },
  LONG,
);

/** The audit screen's action groups used here, and the prefix each stands for. */
const GROUPS = {
  'Sign-ins': 'auth.',
  'Own account': 'account.',
  Users: 'user.',
  'Connected apps': 'app.',
  'Tokens and keys': 'token.',
  Modules: 'module.',
} as const;

/** One row of the audit table, as its cells read. */
type Row = Record<'who' | 'action' | 'target' | 'outcome' | 'address' | 'detail', string>;

async function auditRows(page: Page): Promise<Row[]> {
  return page.getByTestId('audit-entry').evaluateAll((trs) =>
    trs.map((tr) => {
      const cell = (label: string) =>
        tr.querySelector(`td[data-label="${label}"]`)?.textContent?.trim() ?? '';
      return {
        who: cell('Who'),
        action: cell('Action'),
        target: cell('Target'),
        outcome: cell('Outcome'),
        address: cell('Address'),
        detail: cell('Detail'),
      };
    }),
  );
}

test(
  'every one of those actions is in the audit log, found with its filters',
  async () => {
    const page = await admin.newPage();
    const pageErrors = collectPageErrors(page);
    await page.goto(`${url}/admin/`);
    await nav(page, 'Audit log');
    await page.getByTestId('audit-entry').first().waitFor();

    /** Filters the log as a person would; waits until it shows only what the filter asks, `want` among it. */
    async function find(
      filters: { group: keyof typeof GROUPS; who?: string; text?: string },
      want: Partial<Row> & { action: string },
    ): Promise<Row> {
      await page.getByLabel('Action').selectOption({ label: filters.group });
      await page.getByLabel('Who').fill(filters.who ?? '');
      await page.getByLabel('Text').fill(filters.text ?? '');
      await page.getByRole('button', { name: 'Filter' }).click();
      return waitFor(
        `${want.action} under ${JSON.stringify(filters)}`,
        async () => {
          const rows = await auditRows(page);
          const filtered = rows.every(
            (row) =>
              row.action.startsWith(GROUPS[filters.group]) &&
              (!filters.who || row.who === filters.who),
          );
          const found = rows.find((row) =>
            Object.entries(want).every(([key, value]) => row[key as keyof Row].includes(value)),
          );
          return filtered ? found : undefined;
        },
        STEP,
      );
    }
    const byAdmin = { who: ADMIN.username, outcome: 'success' };

    await find(
      { group: 'Sign-ins', who: 'anonymous' },
      { action: 'auth.login.failed', target: ADMIN.username, outcome: 'failure' },
    );
    await find({ group: 'Sign-ins', who: ADMIN.username }, { action: 'auth.login', ...byAdmin });
    for (const fixture of ['good', 'flood', 'crash']) {
      await find(
        { group: 'Modules', who: ADMIN.username, text: fixture },
        { action: 'module.install', target: `parachute-fixture-${fixture}`, ...byAdmin },
      );
    }
    const env = await find(
      { group: 'Modules', text: 'FLOOD_LINES' },
      { action: 'module.env', target: 'parachute-fixture-flood', ...byAdmin },
    );
    expect(env.detail).not.toContain(String(FLOOD));
    await find(
      { group: 'Modules', who: ADMIN.username },
      { action: 'module.restart', target: 'parachute-fixture-flood', ...byAdmin },
    );
    await find(
      { group: 'Modules', who: ADMIN.username },
      { action: 'module.stop', target: 'parachute-fixture-good', ...byAdmin },
    );
    await find(
      { group: 'Modules', who: ADMIN.username },
      { action: 'module.start', target: 'parachute-fixture-crash', ...byAdmin },
    );
    await find(
      { group: 'Connected apps', text: 'Journey App' },
      { action: 'app.consent.approve', target: seen.clientId, ...byAdmin },
    );
    await find(
      { group: 'Tokens and keys', text: seen.tokenJti },
      { action: 'token.mint', target: seen.tokenJti, ...byAdmin },
    );
    await find(
      { group: 'Tokens and keys', text: seen.tokenJti },
      { action: 'token.revoke', target: seen.tokenJti, ...byAdmin },
    );
    await find(
      { group: 'Users', text: 'erin' },
      { action: 'user.create', target: 'erin', ...byAdmin },
    );
    await find(
      { group: 'Sign-ins', who: 'erin' },
      { action: 'auth.login', target: 'erin', outcome: 'success' },
    );
    await find(
      { group: 'Own account', who: 'erin' },
      { action: 'account.password', target: 'erin', outcome: 'success' },
    );
    const totp = await find(
      { group: 'Own account', who: ADMIN.username },
      { action: 'account.totp.enable', target: ADMIN.username, ...byAdmin },
    );
    await find(
      { group: 'Own account', who: ADMIN.username },
      { action: 'account.backup_codes', target: ADMIN.username, ...byAdmin },
    );
    // From where: this machine's loopback address.
    expect(totp.address).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);

    // Everything, unfiltered, for a person to look at: desktop, then phone.
    await page.getByLabel('Action').selectOption({ label: 'All actions' });
    await page.getByLabel('Who').fill('');
    await page.getByLabel('Text').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor(
      'the whole log',
      async () =>
        (await auditRows(page)).some((row) => row.action === 'auth.login.failed')
          ? true
          : undefined,
      STEP,
    );
    await shot(page, 'journey-audit-desktop');
    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'journey-audit-phone');
    expect(unexpectedErrors(pageErrors)).toEqual([]);
    expect(unexpectedErrors(modulesErrors)).toEqual([]);
    await page.close();
  },
  LONG,
);
