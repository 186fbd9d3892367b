import { afterAll, beforeAll, expect, test } from 'bun:test';
import { cpSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { fixtureDir, packFixture, unusedPort } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  trackHubs,
} from './helpers/modules.ts';

// The manifest form on the Modules page, for a package that ships no
// module.json (the `bare` fixture: a plain server on the port it is given).

const hubs = trackHubs();
let url: string;
let operator: OperatorCall;
let browser: Browser;
let bare: string;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  operator = started.call;
  browser = await launchBrowser();
  // A copy: the hub installs the folder, and the repository's stays untouched.
  bare = join(await mkdtemp(join(tmpdir(), 'parachute-bare-')), 'bare');
  cpSync(fixtureDir('bare'), bare, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

/** Chromium logs each 4xx answer as an error; the refused manifests are on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (text) =>
      !/^Failed to load resource: the server responded with a status of \d\d\d\b/.test(text),
  );
}

async function signedInPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return page;
}

test('a given manifest is checked before anything installs: every wrong field named by field', async () => {
  const base = {
    name: 'fx-checked',
    manifestName: 'fx-checked',
    port: unusedPort(),
    paths: ['/fx-checked'],
    health: '/health',
  };
  const post = (manifest: object) =>
    operator('POST', '/api/modules/install', { package: bare, manifest });
  const bad = await post({ ...base, port: 70000, paths: ['/admin/x'] });
  expect(bad.status).toBe(400);
  expect(bad.json.error).toBe('invalid_manifest');
  expect(fieldsOf(bad).port).toBe('must be at most 65535');
  expect(fieldsOf(bad).paths).toBeUndefined(); // a format problem first; placement after
  const reserved = await post({ ...base, paths: ['/admin/x'] });
  expect(reserved.status).toBe(400);
  expect(reserved.json.fields).toEqual({ paths: '/admin/x is reserved by the hub (/admin)' });
  // Taken names and paths: a module installed the ordinary way holds them.
  expect((await install(operator, { package: await packFixture('good') })).state).toBe('succeeded');
  const taken = await post({ ...base, name: 'fx-good', paths: ['/fx-good'] });
  expect(taken.status).toBe(400);
  expect(fieldsOf(taken).name).toContain('already installed');
  expect(fieldsOf(taken).paths).toBe('/fx-good is already mounted by "parachute-fixture-good"');
  // Nothing else was installed, and no operation ran for any of them.
  const names = ((await operator('GET', '/api/modules')).json.modules as { module: string }[]).map(
    (m) => m.module,
  );
  expect(names).toEqual(['fx-good']);
}, 90_000);

test('install a package without a manifest through the form: prefilled, checked, then running through the hub', async () => {
  const page = await signedInPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/modules`);
  const form = page.getByRole('form', { name: 'Install a module' });
  // Installed without a manifest, the hub says it ships none, and the form appears prefilled.
  await form.getByLabel('Package').fill(bare);
  await form.getByRole('button', { name: 'Install' }).click();
  await page
    .getByTestId('operation')
    .getByRole('status')
    .getByText('ships no .parachute/module.json')
    .waitFor({ timeout: 60_000 });
  await form.getByText('ships no module.json. Say how to run it below').waitFor();
  expect(await form.getByLabel('It ships no module.json').isChecked()).toBe(true);
  expect(await form.getByLabel('Package').inputValue()).toBe(bare);
  expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('bare');
  expect(await form.getByLabel('Mount paths').inputValue()).toBe('/bare');
  expect(await form.getByLabel('Start command').inputValue()).toBe('bare');

  // A bad port is the form's own error, next to the port; nothing is sent.
  await form.getByLabel('Port').fill('99999');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the hub replaces this literal placeholder
  await form.getByLabel('Start command').fill('fixture-bare ${PORT}');
  await form.getByRole('button', { name: 'Install' }).click();
  const port = form.getByLabel('Port');
  expect(await port.getAttribute('aria-invalid')).toBe('true');
  await expect(accessibleDescription(port)).resolves.toContain('whole number from 1 to 65535');
  await shot(page, 'manifest-form-errors-desktop');

  // A path under /admin passes the form but not the hub: its answer marks the paths field.
  await port.fill(String(unusedPort()));
  expect(await port.getAttribute('aria-invalid')).toBeNull();
  await form.getByLabel('Mount paths').fill('/admin/bare');
  await form.getByRole('button', { name: 'Install' }).click();
  await form.getByText('The hub refused this module.json').waitFor();
  const paths = form.getByLabel('Mount paths');
  expect(await paths.getAttribute('aria-invalid')).toBe('true');
  await expect(accessibleDescription(paths)).resolves.toContain(
    '/admin/bare is reserved by the hub (/admin)',
  );
  await shot(page, 'manifest-form-hub-error-desktop');

  // The Advanced JSON starts as the fields say.
  await form.getByText('Advanced: edit module.json').click();
  // Filled from the fields when it opens (a render later than the click).
  const advanced = form.getByLabel('module.json', { exact: true });
  const text = await waitFor('the Advanced JSON to be filled', async () => {
    const value = await advanced.inputValue();
    return value.trim() === '' ? undefined : value;
  });
  const json = JSON.parse(text);
  expect(json).toMatchObject({
    name: 'bare',
    paths: ['/admin/bare'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the hub replaces this literal placeholder
    startCmd: ['fixture-bare', '${PORT}'],
    stripPrefix: true,
  });
  expect(await form.getByLabel('Mount paths').isDisabled()).toBe(true);
  await form.getByText('Advanced: edit module.json').click();

  // Fixed: it installs, runs, and its page answers through the hub.
  await paths.fill('/fx-bare');
  expect(await paths.getAttribute('aria-invalid')).toBeNull();
  await form.getByLabel('Display name').fill('Bare server');
  await form.getByRole('button', { name: 'Install' }).click();
  await page
    .getByTestId('operation')
    .getByRole('status')
    .getByText('done.')
    .waitFor({ timeout: 60_000 });
  const card = page.getByRole('listitem', { name: 'Bare server' });
  await card.getByTestId('module-state').getByText('running').waitFor({ timeout: 30_000 });
  const m = await moduleNamed(operator, 'bare');
  const res = await waitFor(
    'the page through the hub',
    async () => {
      const r = await fetch(`${url}/fx-bare/`);
      return r.ok ? r : undefined;
    },
    20_000,
  );
  // stripPrefix (the form's default) hands the server `/`; ${PORT} became the assigned port.
  expect(await res.text()).toContain(`bare on ${m?.port}`);
  expect(unexpected(errors)).toEqual([]);
  await page.context().close();
}, 150_000);

test('the form at phone width and in dark mode', async () => {
  for (const [name, options] of [
    ['phone-light', { viewport: { width: 360, height: 800 }, colorScheme: 'light' }],
    ['phone-dark', { viewport: { width: 360, height: 800 }, colorScheme: 'dark' }],
    ['desktop-dark', { colorScheme: 'dark' }],
  ] as const) {
    const page = await signedInPage(options);
    await page.goto(`${url}/admin/modules`);
    const form = page.getByRole('form', { name: 'Install a module' });
    await form.getByLabel('Package').fill('http-server@14.1.1');
    await form.getByLabel('It ships no module.json').check();
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('http-server');
    expect(await form.getByLabel('Mount paths').inputValue()).toBe('/http-server');
    await form.getByLabel('Port').fill('0');
    await form.getByRole('button', { name: 'Install' }).click();
    expect(await form.getByLabel('Port').getAttribute('aria-invalid')).toBe('true');
    // Nothing wider than the screen: no sideways scrolling on a phone.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await form.scrollIntoViewIfNeeded();
    await shot(page, `manifest-form-${name}`);
    await page.context().close();
  }
}, 90_000);

/** The `fields` of an invalid_manifest answer: the problem per field. */
function fieldsOf(res: { json: Record<string, unknown> }): Record<string, string | undefined> {
  return res.json.fields as Record<string, string | undefined>;
}

/** The text an input's aria-describedby points at (its error and hint). */
function accessibleDescription(input: ReturnType<Page['getByLabel']>): Promise<string> {
  return input.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' '),
  );
}
