/**
 * The hub upgrading itself under a real systemd (test/helpers/debian-box.ts):
 * a release channel on the host's loopback serves a real second build and
 * SHA256SUMS; the box shares the host's network and reaches it.
 *   - as root (system unit): `parachute upgrade --hub` restarts into the new
 *     version; a broken release (right checksum, exits at start) is rolled
 *     back to parachute.prev, which serves again;
 *   - as a user (user unit): POST /api/hub/upgrade, as the Upgrade page
 *     does: the watcher runs as a transient unit, outlives the restart and
 *     records the outcome.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import pkg from '../../package.json' with { type: 'json' };
import { detectAsset } from '../../src/platform/release-asset.ts';
import { waitFor } from '../helpers/binary.ts';
import { launchBrowser, shot, submitSignIn } from '../helpers/browser.ts';
import { Box, type BoxResult, copyRoot } from '../helpers/debian-box.ts';
import { brokenBuild, buildVersion, NEW_VERSION, removeBuild } from '../helpers/newer-build.ts';
import { ReleaseServer } from '../helpers/release-server.ts';

const BUILT = resolve(import.meta.dir, '../../dist/parachute');
const work = mkdtempSync('/var/tmp/parachute-hub-upgrade-');
const boxes: Box[] = [];
let newer: string;
let channel: ReleaseServer;
let browser: Browser | undefined;
const PASSWORD = 'correct-horse-battery';

beforeAll(async () => {
  newer = await buildVersion();
  channel = new ReleaseServer(detectAsset(), { binary: newer, version: NEW_VERSION });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  channel?.stop();
  removeBuild(newer);
  for (const box of boxes) await box.poweroff().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 300_000);

function ok(result: BoxResult, what: string): string {
  if (result.code !== 0)
    throw new Error(`${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

async function prepare(name: string, binary: string): Promise<Box> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  const root = await copyRoot(join(work, name));
  mkdirSync(join(root, binary, '..'), { recursive: true });
  copyFileSync(BUILT, join(root, binary));
  chmodSync(join(root, binary), 0o755);
  // The host's network: the channel on the host's loopback answers inside.
  const box = await Box.boot(root);
  boxes.push(box);
  return box;
}

/** A port nothing on the (shared) loopback listens on. */
function freePort(): number {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const { port } = probe;
  probe.stop(true);
  return port as number;
}

/**
 * Awaits `step`; when it fails, the error carries what the box knows (the
 * recorded upgrade, both units' journals), so a failure in CI says why.
 */
async function explainOnFailure<T>(
  box: Box,
  step: Promise<T>,
  page: () => Promise<string>,
): Promise<T> {
  try {
    return await step;
  } catch (error) {
    const facts = await box.exec([
      'sh',
      '-c',
      'cat /var/lib/parachute/upgrade.json; systemctl status --no-pager parachute parachute-upgrade.path parachute-upgrade.service; journalctl --no-pager -n 120 -u parachute -u parachute-upgrade',
    ]);
    throw new Error(
      `${(error as Error).message}\n${await page()}\n--- in the box:\n${facts.stdout}${facts.stderr}`,
    );
  }
}

async function versionAt(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    return ((await res.json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function serving(port: number, version: string, timeoutMs = 60_000) {
  return waitFor(
    `the hub on ${port} to answer ${version}`,
    async () => ((await versionAt(port)) === version ? true : undefined),
    timeoutMs,
  );
}

describe('system unit, as root: parachute upgrade --hub', () => {
  test('upgrades and restarts; a broken release is rolled back', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const box = await prepare('system', 'usr/local/bin/parachute');
    const port = freePort();
    const env = { PARACHUTE_RELEASE_URL: channel.url };
    ok(
      await box.exec(['parachute', 'unit', 'install', '--port', String(port)], {
        timeoutMs: 120_000,
      }),
      'unit install',
    );
    await serving(port, pkg.version);

    const up = await box.exec(['parachute', 'upgrade', '--hub'], { env, timeoutMs: 120_000 });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`The hub answers /health with ${NEW_VERSION}`);
    expect(await versionAt(port)).toBe(NEW_VERSION);
    expect(ok(await box.exec(['/usr/local/bin/parachute.prev', '--version']), 'prev')).toContain(
      pkg.version,
    );
    const backups = ok(await box.exec(['ls', '-l', '/var/lib/parachute/backups']), 'ls backups');
    expect(backups).toContain(`pre-upgrade-${pkg.version}-to-${NEW_VERSION}`);
    // Taken by root, owned by the hub's account like the rest of its home.
    expect(backups).toMatch(/parachute\s+parachute/);

    // A release that installs fine but cannot start: rolled back to the previous binary.
    const broken = brokenBuild('99.0.1');
    channel.publish({ binary: broken, version: '99.0.1' });
    const started = performance.now();
    const bad = await box.exec(['parachute', 'upgrade', '--hub'], {
      env: { ...env, PARACHUTE_UPGRADE_HEALTH_S: '8' },
      timeoutMs: 120_000,
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('did not answer /health with 99.0.1 within 8 s: rolling back');
    expect(bad.stderr).toContain(
      'rolled back: 99.0.1 did not answer in time; `journalctl -u parachute` shows why',
    );
    expect(await versionAt(port)).toBe(NEW_VERSION);
    expect(ok(await box.exec(['parachute', '--version']), 'version')).toContain(NEW_VERSION);
    console.log(`rollback took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 240_000);
});

describe('user unit: POST /api/hub/upgrade (the Upgrade page)', () => {
  test('the watcher outlives the restart and the new hub serves', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const box = await prepare('user', 'home/alice/.local/bin/parachute');
    ok(await box.exec(['useradd', '-m', '-s', '/bin/bash', 'alice']), 'useradd');
    ok(await box.exec(['chown', '-R', 'alice:alice', '/home/alice']), 'chown');
    ok(await box.exec(['loginctl', 'enable-linger', 'alice']), 'linger');
    const port = freePort();
    // The hub reads PARACHUTE_RELEASE_URL from its unit's environment: a drop-in, as an operator would.
    const dropIn = '/home/alice/.config/systemd/user/parachute.service.d';
    ok(
      await box.execAs(
        'alice',
        `mkdir -p ${dropIn} && printf '[Service]\\nEnvironment=PARACHUTE_RELEASE_URL=${channel.url}\\nEnvironment=PARACHUTE_INITIAL_ADMIN_USERNAME=admin\\nEnvironment=PARACHUTE_INITIAL_ADMIN_PASSWORD=correct-horse-battery\\n' > ${dropIn}/release.conf`,
      ),
      'drop-in',
    );
    ok(
      await box.execAs('alice', `~/.local/bin/parachute unit install --port ${port}`, {
        timeoutMs: 120_000,
      }),
      'unit install',
    );
    await serving(port, pkg.version);
    const token = await waitFor(
      'the operator token',
      async () => {
        const text = await Bun.file(join(box.root, 'home/alice/.parachute/operator.token'))
          .text()
          .catch(() => '');
        return text.trim() || undefined;
      },
      30_000,
    );
    const res = await fetch(`http://127.0.0.1:${port}/api/hub/upgrade`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: NEW_VERSION }),
    });
    expect(res.status).toBe(202);
    await serving(port, NEW_VERSION, 90_000);
    const status = await waitFor(
      'the recorded outcome',
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/hub/upgrade`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await r.json()) as { status: { state: string } | null };
        return body.status?.state === 'running' ? undefined : body.status;
      },
      30_000,
    );
    expect(status).toMatchObject({ state: 'succeeded', from: pkg.version, to: NEW_VERSION });
    const audit = await fetch(`http://127.0.0.1:${port}/api/audit?action=hub.upgrade`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const entries = ((await audit.json()) as { entries: { outcome: string }[] }).entries.map(
      (e) => e.outcome,
    );
    expect(entries.sort()).toEqual(['started', 'success']);
  }, 240_000);
});

describe('system unit: the Upgrade screen in Chromium (root trigger)', () => {
  test('upgrades across the restart, then shows a broken release rolled back', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const box = await prepare('system-ui', 'usr/local/bin/parachute');
    const port = freePort();
    // The operator's configuration of the hub, root-owned: where releases come from, the first admin.
    ok(
      await box.exec([
        'sh',
        '-c',
        `mkdir -p /etc/systemd/system/parachute.service.d && printf '[Service]\\nEnvironment=PARACHUTE_RELEASE_URL=${channel.url}\\nEnvironment=PARACHUTE_UPGRADE_HEALTH_S=8\\nEnvironment=PARACHUTE_INITIAL_ADMIN_USERNAME=admin\\nEnvironment=PARACHUTE_INITIAL_ADMIN_PASSWORD=${PASSWORD}\\n' > /etc/systemd/system/parachute.service.d/release.conf`,
      ]),
      'drop-in',
    );
    ok(
      await box.exec(['parachute', 'unit', 'install', '--port', String(port)], {
        timeoutMs: 120_000,
      }),
      'unit install',
    );
    expect(
      ok(await box.exec(['systemctl', 'is-active', 'parachute-upgrade.path']), 'path unit').trim(),
    ).toBe('active');
    await serving(port, pkg.version);
    const url = `http://127.0.0.1:${port}`;

    browser ??= await launchBrowser();
    const page = await (
      await browser.newContext({ viewport: { width: 1280, height: 900 } })
    ).newPage();
    await submitSignIn(page, url, 'admin', PASSWORD);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${url}/admin/upgrade`);
    // The hub's own first look at the channel may have failed on a loaded machine (it retries in 5 minutes).
    await page.getByRole('button', { name: 'Check again' }).click();
    await page
      .getByRole('button', { name: `Upgrade to ${NEW_VERSION}` })
      .click({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Yes, upgrade' }).click();
    const outcome = page.getByTestId('upgrade-outcome');
    await explainOnFailure(
      box,
      outcome.getByText(`Upgraded: the hub runs ${NEW_VERSION}.`).waitFor({ timeout: 90_000 }),
      async () => `the page shows: ${await outcome.innerText().catch(() => '(no outcome)')}`,
    );
    // The page reloaded into the new hub's admin UI, which reports the new version.
    await page.getByTestId('hub-version').getByText(`v${NEW_VERSION}`).waitFor({ timeout: 30_000 });
    await outcome.getByText(`Upgraded: the hub runs ${NEW_VERSION}.`).waitFor();
    await shot(page, 'upgrade-system-succeeded');
    expect(await versionAt(port)).toBe(NEW_VERSION);

    // A broken release: the page follows it through the failed start and the rollback.
    channel.publish({ binary: brokenBuild('99.0.1'), version: '99.0.1' });
    await page.getByRole('button', { name: 'Check again' }).click();
    await page.getByRole('button', { name: 'Upgrade to 99.0.1' }).click({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Yes, upgrade' }).click();
    await explainOnFailure(
      box,
      outcome
        .getByText('99.0.1 did not start, so the hub was rolled back: 99.0.0 runs again')
        .waitFor({ timeout: 120_000 }),
      async () => `the page shows: ${await outcome.innerText().catch(() => '(no outcome)')}`,
    );
    await shot(page, 'upgrade-system-rolled-back');
    expect(await versionAt(port)).toBe(NEW_VERSION);
    // The request file is gone (the trigger would otherwise fire again).
    expect(existsSync(join(box.root, 'var/lib/parachute/upgrade-request.json'))).toBe(false);
  }, 300_000);
});
