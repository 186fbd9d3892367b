import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { shot, signedInBrowser } from './helpers/browser.ts';
import { fixtureAt, fixtureDir, packFixture, packFixtureAt } from './helpers/fixtures.ts';
import {
  finishOperation,
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let home: string;
let operator: OperatorCall;
let browser: Browser;
let signedIn: BrowserContext;
const holders: Bun.Subprocess[] = [];

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  operator = started.call;
  ({ browser, signedIn } = await signedInBrowser(url, ADMIN.username, ADMIN.password));
}, 120_000);
afterAll(async () => {
  for (const p of holders) p.kill();
  await browser?.close();
});

const token = () => readFileSync(join(home, 'operator.token'), 'utf8').trim();

/** POSTs a body raw to /api/modules/upload with the operator token. */
function upload(body: BodyInit, query = '') {
  return fetch(`${url}/api/modules/upload${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit);
}

/** The version of fx-good's package on disk. */
function installedVersion(): string {
  const path = join(home, 'modules/node_modules/parachute-fixture-good/package.json');
  return JSON.parse(readFileSync(path, 'utf8')).version;
}

/** What the install root lists: nothing an upload refused may change it. */
function installed(): string {
  const path = join(home, 'modules', 'package.json');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

test('a chunked upload over 50 MB gets a prompt 413 from fetch and curl; nothing is kept', async () => {
  const before = installed();
  // 60 MB of a stream with no Content-Length, pulled as fast as the socket takes it.
  const total = 60 * 1024 * 1024;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += 64 * 1024;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
  const began = Date.now();
  const res = await upload(stream);
  const took = Date.now() - began;
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: string }).error).toBe('payload_too_large');
  expect(took).toBeLessThan(5_000);
  // It stopped reading at the limit, not after the whole stream.
  expect(sent).toBeLessThan(total);

  // curl -T - sends stdin chunked.
  const curlBegan = Date.now();
  const curl = Bun.spawn(
    [
      'sh',
      '-c',
      `head -c ${total} /dev/zero | curl -sS -T - -H 'authorization: Bearer ${token()}' -w '\\n%{http_code}' ${url}/api/modules/upload`,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const out = await new Response(curl.stdout).text();
  expect(Date.now() - curlBegan).toBeLessThan(5_000);
  expect(out).toContain('payload_too_large');
  expect(out.trim().split('\n').pop()).toBe('413');

  expect(readdirSync(join(home, 'uploads'))).toEqual([]);
  expect(installed()).toBe(before);
  expect((await fetch(`${url}/health`)).status).toBe(200);
  expect((await operator('GET', '/api/modules')).status).toBe(200);
}, 60_000);

test("the browser's uploads: a 60 MB file gets a prompt 413; a streamed body cannot leave Chromium over HTTP/1.1", async () => {
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const result = await page.evaluate(async () => {
    const csrf = document.cookie.match(/(?:^|; )(?:__Host-)?parachute_csrf=([^;]+)/)?.[1] ?? '';
    const headers = { 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' };
    const began = performance.now();
    // What the page sends: a File (a Blob), with its Content-Length.
    const blob = await fetch('/api/modules/upload', {
      method: 'POST',
      headers,
      body: new Blob([new Uint8Array(60 * 1024 * 1024)]),
    });
    const blobMs = performance.now() - began;
    let streamed: string;
    try {
      const res = await fetch('/api/modules/upload', {
        method: 'POST',
        headers,
        body: new Blob([new Uint8Array(60 * 1024 * 1024)]).stream(),
        duplex: 'half',
      } as RequestInit);
      streamed = String(res.status);
    } catch (error) {
      streamed = String(error);
    }
    return { blob: blob.status, error: (await blob.json()).error, blobMs, streamed };
  });
  expect(result.blob).toBe(413);
  expect(result.error).toBe('payload_too_large');
  expect(result.blobMs).toBeLessThan(5_000);
  // Chromium streams a request body only over HTTP/2 or QUIC (net::ERR_H2_OR_QUIC_REQUIRED):
  // a browser's upload to the hub always declares its size.
  expect(result.streamed).toBe('TypeError: Failed to fetch');
  const uploads = join(home, 'uploads');
  expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
  await page.close();
}, 60_000);

test('a module installed from an upload is upgraded by uploading a newer .tgz of it; data and .env stay', async () => {
  const v1 = await packFixture('good');
  const first = await finishOperation(operator, {
    json: (await (await upload(Bun.file(v1))).json()) as Record<string, unknown>,
  });
  expect(first.state).toBe('succeeded');
  await running(operator, 'fx-good');
  // Its settings and its data, which an upgrade must keep.
  expect(
    (await operator('PUT', '/api/modules/fx-good/env', { values: { FIXTURE_DOTENV: 'kept' } }))
      .status,
  ).toBe(200);
  writeFileSync(join(home, 'fx-good', 'notes.txt'), 'my data');

  // Another package is refused and changes nothing.
  const other = await upload(Bun.file(await packFixture('crash')), '?upgrade=fx-good');
  expect(other.status).toBe(202);
  const refused = await finishOperation(operator, {
    json: (await other.json()) as Record<string, unknown>,
  });
  expect(refused.state).toBe('failed');
  expect(refused.error).toContain(
    'that package is parachute-fixture-crash, not parachute-fixture-good',
  );
  expect(installed()).not.toContain('parachute-fixture-crash');
  expect((await moduleNamed(operator, 'fx-good'))?.version).toBe('1.0.0');
  // An unknown module is refused before the upload is read.
  const unknown = await upload(Bun.file(v1), '?upgrade=fx-nope');
  expect(unknown.status).toBe(404);

  const v2 = await packFixtureAt('good', '2.0.0');
  const res = await upload(Bun.file(v2), '?upgrade=fx-good');
  expect(res.status).toBe(202);
  const done = await finishOperation(operator, {
    json: (await res.json()) as Record<string, unknown>,
  });
  expect(done.state).toBe('succeeded');
  const good = await running(operator, 'fx-good');
  expect(good.version).toBe('2.0.0');
  const env = await (await fetch(`${url}/fx-good/env`)).json();
  expect(env.FIXTURE_DOTENV).toBe('kept');
  expect(readFileSync(join(home, 'fx-good', 'notes.txt'), 'utf8')).toBe('my data');
  // The upload it runs from is kept (a later rollback adds it again); the first one is gone.
  expect(readdirSync(join(home, 'uploads'))).toHaveLength(1);

  const audit = await operator('GET', '/api/audit?action=module.upgrade');
  const entries = audit.json.entries as { target: string; outcome: string }[];
  // Audited under the module's row name.
  const row = (await moduleNamed(operator, 'fx-good'))?.name;
  expect(entries.filter((e) => e.target === row).map((e) => e.outcome)).toEqual(
    expect.arrayContaining(['started', 'success', 'failure']),
  );

  // A new version this module cannot use is rolled back from the upload it runs from.
  const renamed = await packFixtureAt('good', '2.5.0', (folder) => {
    const path = join(folder, '.parachute/module.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...manifest, manifestName: 'parachute-fixture-other' }));
  });
  const bad = await finishOperation(operator, {
    json: (await (await upload(Bun.file(renamed), '?upgrade=fx-good')).json()) as Record<
      string,
      unknown
    >,
  });
  expect(bad.state).toBe('failed');
  expect(bad.error).toContain('calls itself parachute-fixture-other');
  expect(installedVersion()).toBe('2.0.0');
  expect((await running(operator, 'fx-good')).version).toBe('2.0.0');
  expect(readdirSync(join(home, 'uploads'))).toHaveLength(1);

  // The CLI's `upgrade --file` path: a .tgz on the hub's host.
  const v3 = await packFixtureAt('good', '3.0.0');
  const byPath = await operator('POST', '/api/modules/fx-good/upgrade', { from: v3 });
  expect((await finishOperation(operator, byPath)).state).toBe('succeeded');
  expect((await running(operator, 'fx-good')).version).toBe('3.0.0');
}, 180_000);

/** The module's card on the Modules page. */
function card(page: Page, label: string) {
  return page.getByRole('listitem', { name: label });
}

/** Desktop and phone, light and dark, of the page as it is. */
async function shots(page: Page, name: string) {
  await shot(page, `${name}-desktop`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, `${name}-desktop-dark`);
  await page.setViewportSize({ width: 360, height: 780 });
  await shot(page, `${name}-phone-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('in the page: upgrade from an uploaded .tgz; another package is refused in plain words', async () => {
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const good = card(page, 'Fixture: good');
  await good.getByTestId('module-state').getByText('running').waitFor();
  await good.getByText('Upgrade from a .tgz').click();
  await good.getByLabel('Newer version (.tgz)').setInputFiles(await packFixture('crash'));
  await good.getByRole('button', { name: 'Upload and upgrade' }).click();
  await good
    .getByTestId('operation')
    .getByRole('status')
    .getByText(/failed: that package is parachute-fixture-crash, not parachute-fixture-good/)
    .waitFor({ timeout: 60_000 });
  await shots(page, 'modules-upgrade-refused');

  const v4 = await packFixtureAt('good', '4.0.0');
  await good.getByLabel('Newer version (.tgz)').setInputFiles(v4);
  await good.getByRole('button', { name: 'Upload and upgrade' }).click();
  await good
    .getByTestId('operation')
    .getByRole('status')
    .getByText(/done\./)
    .waitFor({ timeout: 60_000 });
  // The new version arrives by the live list, and it runs again.
  await good.getByText('4.0.0', { exact: true }).waitFor();
  await good.getByTestId('module-state').getByText('running').waitFor({ timeout: 30_000 });
  await shots(page, 'modules-upgraded');
  await page.close();
}, 180_000);

test('in the page: Upgrade re-adds a folder install from its folder at its new version', async () => {
  const folder = await fixtureAt('ui', '1.0.0');
  expect((await install(operator, { package: folder })).state).toBe('succeeded');
  await running(operator, 'fx-ui');
  await fixtureAt('ui', '1.1.0', folder);
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const ui = card(page, 'Fixture: UI');
  await ui.getByText('1.0.0', { exact: true }).waitFor();
  await ui.getByRole('button', { name: 'Upgrade', exact: true }).click();
  await ui
    .getByTestId('operation')
    .getByRole('status')
    .getByText(/done\./)
    .waitFor({ timeout: 60_000 });
  await ui.getByText('1.1.0', { exact: true }).waitFor();
  await ui.getByTestId('module-state').getByText('running').waitFor({ timeout: 30_000 });
  expect(installed()).toContain(folder);
  await page.close();
}, 180_000);

test('in the page: a held port names the holder, a module that never listens says so, a missing program gives the hint', async () => {
  // fx-ui stopped, and its port taken by a program the hub did not start.
  await operator('POST', '/api/modules/fx-ui/stop', {});
  const port = (await moduleNamed(operator, 'fx-ui'))?.port as number;
  const holder = Bun.spawn(['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  holders.push(holder);
  await waitFor(
    'the holder listening',
    async () =>
      (await fetch(`http://127.0.0.1:${port}/`).catch(() => null))?.ok ? true : undefined,
    10_000,
  );
  // Never binds; and a start command that is not installed anywhere.
  expect((await install(operator, { package: await packFixture('never-binds') })).state).toBe(
    'succeeded',
  );
  const missing = {
    ...JSON.parse(readFileSync(join(fixtureDir('crash'), '.parachute/module.json'), 'utf8')),
    startCmd: ['parachute-no-such-program'],
    displayName: 'Fixture: missing program',
  };
  expect(
    (await install(operator, { package: await packFixture('crash'), manifest: missing })).state,
  ).toBe('succeeded');

  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/modules`);
  const ui = card(page, 'Fixture: UI');
  await ui.getByRole('button', { name: 'Start', exact: true }).click();
  const held = ui.getByTestId('module-problem');
  await held.getByText('Its port is taken by another program.').waitFor({ timeout: 20_000 });
  expect(await held.textContent()).toContain(`Port held by process ${holder.pid}`);
  expect(await held.textContent()).toContain('http.server');

  const never = card(page, 'Fixture: never binds').getByTestId('module-problem');
  await never.getByText('It runs but never opened its port.').waitFor({ timeout: 30_000 });

  const absent = card(page, 'Fixture: missing program').getByTestId('module-problem');
  await absent.getByText('A program it needs is missing.').waitFor({ timeout: 20_000 });
  expect(await absent.textContent()).toContain('"parachute-no-such-program"');
  expect(await absent.textContent()).toContain('install it on this host');
  await held.scrollIntoViewIfNeeded();
  await shots(page, 'modules-start-problems');

  // Once the holder is gone, Start works.
  holder.kill();
  await holder.exited;
  await ui.getByRole('button', { name: 'Start', exact: true }).click();
  await ui.getByTestId('module-state').getByText('running').waitFor({ timeout: 30_000 });
  await page.close();
}, 180_000);
