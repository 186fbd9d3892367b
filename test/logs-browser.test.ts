import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN, ApiClient, bootstrapToken, setUpHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { collectPageErrors, launchBrowser, shot, submitSignIn } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  install,
  moduleNamed,
  type OperatorCall,
  operatorClient,
  running,
  trackHubs,
} from './helpers/modules.ts';

/** The flood the viewer follows: the issue asks for a million lines. */
const FLOOD = 1_000_000;

const hubs = trackHubs();
let url: string;
let call: OperatorCall;
let bootstrap: string;
let browser: Browser;
let signedIn: BrowserContext;
let admin: ApiClient;

beforeAll(async () => {
  // Set up through the bootstrap banner, so the hub printed a one-time token.
  // Modules inherit the hub's environment: the flood at install is small; the
  // one the test follows reads its size from the module's .env.
  const started = await setUpHub({ FLOOD_LINES: '1000' });
  hubs.push(started.hub);
  url = started.url;
  admin = started.admin;
  bootstrap = await bootstrapToken(started.hub);
  call = operatorClient(url, started.hub.home);
  for (const fixture of ['good', 'flood']) {
    expect((await install(call, { package: await packFixture(fixture) })).state).toBe('succeeded');
  }
  await running(call, 'fx-good');
  await running(call, 'fx-flood');
  mkdirSync(join(started.hub.home, 'fx-flood'), { recursive: true });
  writeFileSync(join(started.hub.home, 'fx-flood', '.env'), `FLOOD_LINES=${FLOOD}\n`);
  browser = await launchBrowser();
  signedIn = await browser.newContext({ acceptDownloads: true });
  const page = await signedIn.newPage();
  await submitSignIn(page, url, ADMIN.username, ADMIN.password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

/** What the page counts while it follows the flood. */
interface Perf {
  frames: number;
  maxGap: number;
  maxRows: number;
  longMs: number;
  start: number;
}

/** The text of the rows the list renders now. */
function rows(page: Page): Promise<string[]> {
  return page.locator('.log-row').allTextContents();
}

test('the hub log is admin-only and never serves the bootstrap token', async () => {
  expect((await fetch(`${url}/api/hub/logs`)).status).toBe(401);
  const friend = await admin.post('/api/users', { username: 'friend', role: 'user' });
  const user = new ApiClient(url);
  await user.login('friend', friend.json.temporary_password as string);
  expect((await user.get('/api/hub/logs')).status).toBe(403);

  const lines = (await admin.get('/api/hub/logs')).json.lines as { line: string }[];
  const text = lines.map((l) => l.line).join('\n');
  expect(text).toContain('created through /admin/setup');
  expect(text).not.toContain(bootstrap);
  expect(text).not.toContain('one-time setup token');
  // Nor does the live stream's replay, in either shape.
  for (const query of ['follow=1', 'follow=1&batch=1']) {
    const res = await fetch(`${url}/api/hub/logs?${query}`, {
      headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(res.status).toBe(200);
    // Read the replay up to the setup line (logged after the banner).
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let first = '';
    while (!first.includes('created through /admin/setup')) {
      const { value, done } = await reader.read();
      if (done) break;
      first += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(first).toContain(query.includes('batch') ? 'event: lines' : 'event: line');
    expect(first).toContain('created through /admin/setup');
    expect(first).not.toContain(bootstrap);
  }

  const page = await signedIn.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/`);
  await page
    .getByRole('navigation', { name: 'Admin sections' })
    .getByRole('link', { name: 'Logs' })
    .click();
  await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
  await page.getByText('Following live.').waitFor();
  await waitFor('hub lines', async () =>
    (await rows(page)).some((r) => r.includes('parachute listening on')) ? true : undefined,
  );
  // A line the hub logs after the page opened arrives live.
  expect((await call('POST', '/api/hub/signing-key/rotate')).status).toBe(200);
  await page.getByText(/signing key rotated from the API/).waitFor();
  expect(await page.content()).not.toContain(bootstrap);
  expect(errors).toEqual([]);
  await page.close();
});

test(`the viewer follows a ${FLOOD.toLocaleString()}-line flood and the page stays responsive`, async () => {
  const page = await signedIn.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  const errors = collectPageErrors(page);
  await page.goto(`${url}/admin/logs/parachute-fixture-flood`);
  await page.getByText('Following live.').waitFor();

  // Count frames, long tasks and the DOM's rows inside the page while the flood runs.
  await page.evaluate(() => {
    const w = window as unknown as { perf: Perf };
    w.perf = { frames: 0, maxGap: 0, maxRows: 0, longMs: 0, start: performance.now() };
    let last = performance.now();
    const tick = (now: number) => {
      w.perf.frames++;
      w.perf.maxGap = Math.max(w.perf.maxGap, now - last);
      w.perf.maxRows = Math.max(w.perf.maxRows, document.querySelectorAll('.log-row').length);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.perf.longMs += e.duration;
    }).observe({ type: 'longtask' });
  });
  const restarted = Date.now();
  expect((await call('POST', '/api/modules/fx-flood/restart')).status).toBeLessThan(300);
  const done = `flood done: ${FLOOD} lines`;
  await waitFor(
    'the flood to end on the page',
    async () => ((await rows(page)).some((r) => r.includes(done)) ? true : undefined),
    120_000,
  );
  const perf = (await page.evaluate(() => {
    const w = window as unknown as { perf: Perf };
    return { ...w.perf, ms: performance.now() - w.perf.start };
  })) as Perf & { ms: number };
  const fps = (perf.frames / perf.ms) * 1000;
  const busy = (perf.longMs / perf.ms) * 100;
  console.log(
    `flood ${FLOOD} lines followed in ${((Date.now() - restarted) / 1000).toFixed(1)} s: ` +
      `${fps.toFixed(1)} frames/s, longest frame gap ${perf.maxGap.toFixed(0)} ms, ` +
      `long tasks ${perf.longMs.toFixed(0)} ms (${busy.toFixed(1)} % of the time), ` +
      `at most ${perf.maxRows} rows in the DOM`,
  );
  expect(perf.maxRows).toBeLessThan(200);
  expect(fps).toBeGreaterThan(10);
  // The end of the module's output is what the page shows last.
  const shown = await rows(page);
  expect(shown.some((r) => r.includes(`flood line ${String(FLOOD - 1).padStart(6, '0')}`))).toBe(
    true,
  );
  expect(await page.getByText(/of 10,000 lines shown/).count()).toBe(1);
  await shot(page, 'logs-flood-desktop');

  // Filter and stderr-only.
  await page.getByLabel('Filter').fill(String(FLOOD - 2).padStart(6, '0'));
  await waitFor('one row', async () => ((await rows(page)).length === 1 ? true : undefined));
  await page.getByLabel('Filter').fill('');
  await page.getByLabel('stderr only').check();
  await waitFor('only stderr rows', async () => {
    const streams = await page
      .locator('.log-row')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.stream));
    return streams.length > 0 && streams.every((s) => s === 'err') ? true : undefined;
  });
  expect((await rows(page)).some((r) => r.includes(done))).toBe(true);
  await shot(page, 'logs-stderr-desktop');
  await page.getByLabel('stderr only').uncheck();

  // Download holds the lines.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download .log' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('parachute-fixture-flood.log');
  const saved = readFileSync((await download.path()) as string, 'utf8')
    .trimEnd()
    .split('\n');
  expect(saved.length).toBe(10_000);
  expect(saved.some((l) => / err flood done: /.test(l))).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
}, 180_000);

test('pause stops updates and resume catches up; auto-scroll only at the bottom', async () => {
  const page = await signedIn.newPage();
  await page.goto(`${url}/admin/logs`);
  await page.getByLabel('Source').selectOption('parachute-fixture-good');
  await page.waitForURL(/\/admin\/logs\/parachute-fixture-good$/);
  // The sidebar still marks Logs on a module's log.
  expect(
    await page
      .getByRole('navigation', { name: 'Admin sections' })
      .getByRole('link', { name: 'Logs' })
      .getAttribute('aria-current'),
  ).toBe('page');
  await page.getByText('Following live.').waitFor();
  const port = (await moduleNamed(call, 'fx-good'))?.port as number;
  await fetch(`http://127.0.0.1:${port}/log?line=before-pause`);
  await page.getByText('before-pause').waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await fetch(`http://127.0.0.1:${port}/log?line=while-paused-1`);
  await fetch(`http://127.0.0.1:${port}/log?line=while-paused-2`);
  await waitFor('two lines counted while paused', async () =>
    (await page.locator('.log-status').textContent())?.includes('Paused: 2 new lines since.')
      ? true
      : undefined,
  ).catch(async (e) => {
    throw new Error(`${e}: ${await page.locator('.log-status').textContent()}`);
  });
  expect(await page.getByText('while-paused-1').count()).toBe(0);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByText('while-paused-2').waitFor();
  await page.getByText('while-paused-1').waitFor();

  // Auto-scroll follows only a reader at the bottom.
  for (let i = 0; i < 60; i++) await fetch(`http://127.0.0.1:${port}/log?line=filler-${i}`);
  await page.getByText('filler-59').waitFor();
  const box = page.getByRole('log', { name: 'Log of parachute-fixture-good' });
  await box.evaluate((el) => {
    el.scrollTop = 0;
  });
  const held = async () =>
    Number((await page.locator('.log-status').textContent())?.match(/of (\d+) lines/)?.[1]);
  const before = await held();
  await fetch(`http://127.0.0.1:${port}/log?line=while-scrolled-up`);
  await waitFor('the new line held', async () =>
    (await held()) === before + 1 ? true : undefined,
  );
  expect(await box.evaluate((el) => el.scrollTop)).toBe(0);
  expect(await page.getByText('while-scrolled-up').count()).toBe(0);
  await box.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await fetch(`http://127.0.0.1:${port}/log?line=at-the-bottom`);
  await page.getByText('at-the-bottom').waitFor();
  expect(await page.getByText('at-the-bottom').isVisible()).toBe(true);
  await page.close();
});

test('screenshots: phone and desktop, light and dark', async () => {
  for (const scheme of ['light', 'dark'] as const) {
    for (const [kind, width, height] of [
      ['phone', 360, 740],
      ['desktop', 1280, 800],
    ] as const) {
      const context = await browser.newContext({ colorScheme: scheme });
      await context.addCookies(await signedIn.cookies());
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      await page.goto(`${url}/admin/logs/parachute-fixture-flood`);
      await page.getByText('Following live.').waitFor();
      await page.locator('.log-row').first().waitFor();
      // Nothing wider than the phone: the log box scrolls sideways inside itself.
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth > window.innerWidth,
      );
      expect(overflow).toBe(false);
      await shot(page, `logs-${kind}-${scheme}`);
      await context.close();
    }
  }
});
