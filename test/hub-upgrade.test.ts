/**
 * `parachute upgrade --hub` and /api/hub/upgrade against a release channel
 * on loopback serving real builds (test/helpers/newer-build.ts) and
 * SHA256SUMS. These hubs run without a service manager (`parachute serve`):
 * the binary is replaced and the person is told to restart it. The restart
 * and the rollback under systemd are in test/platform/hub-upgrade.test.ts.
 */

import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { detectAsset } from '../src/platform/release-asset.ts';
import { runUpgrade } from '../src/upgrade/run-upgrade.ts';
import { ApiClient } from './helpers/api.ts';
import { isolatedBinary, runBinary, spawnHub, waitFor } from './helpers/binary.ts';
import { hubWithOperator, type OperatorCall, trackHubs } from './helpers/modules.ts';
import { brokenBuild, buildVersion, NEW_VERSION, removeBuild } from './helpers/newer-build.ts';
import { assetForThisMachine, ReleaseServer, sha256 } from './helpers/release-server.ts';

const hubs = trackHubs();
let newer: string;
let channel: ReleaseServer;
// Not under systemd, whatever runs the tests: the hub must see no INVOCATION_ID.
const NO_MANAGER = { INVOCATION_ID: '' };

beforeAll(async () => {
  newer = await buildVersion();
  channel = new ReleaseServer(detectAsset(), { binary: newer, version: NEW_VERSION });
}, 120_000);
afterAll(() => {
  channel?.stop();
  removeBuild(newer);
});

test('the asset the hub downloads is the one install.sh picks on this machine', () => {
  expect(detectAsset()).toBe(assetForThisMachine());
});

describe('parachute upgrade --hub on a hub without a service manager', () => {
  test('a checksum mismatch is refused and nothing is replaced', async () => {
    const { hub, bin, dir } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      ...NO_MANAGER,
    });
    const before = sha256(bin);
    channel.publish({
      binary: newer,
      version: NEW_VERSION,
      sums: `${'0'.repeat(64)}  ${detectAsset()}\n`,
    });
    const env = { PARACHUTE_HOME: hub.home, PARACHUTE_RELEASE_URL: channel.url, ...NO_MANAGER };
    const res = await runBinary(bin, ['upgrade', '--hub'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('checksum mismatch');
    expect(res.stderr).toContain('Nothing was replaced');
    expect(sha256(bin)).toBe(before);
    expect(
      readdirSync(dir).filter((f) => f.startsWith('.parachute.new') || f.endsWith('.prev')),
    ).toEqual([]);
    expect(existsSync(join(hub.home, 'backups'))).toBe(false);
    const status = JSON.parse(await Bun.file(join(hub.home, 'upgrade.json')).text());
    expect(status.state).toBe('failed');
  });

  test('success: backup, new binary in place, parachute.prev kept, restart runs the new version', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const { hub, bin, dir } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      ...NO_MANAGER,
    });
    const env = { PARACHUTE_HOME: hub.home, PARACHUTE_RELEASE_URL: channel.url, ...NO_MANAGER };
    // --to a version the channel does not serve is refused.
    const wrong = await runBinary(bin, ['upgrade', '--hub', '--to', '98.0.0'], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`is ${NEW_VERSION}, not 98.0.0`);
    const res = await runBinary(bin, ['upgrade', '--hub', '--to', NEW_VERSION], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('restart it');
    expect((await runBinary(bin, ['--version'])).stdout).toContain(`parachute ${NEW_VERSION}`);
    expect((await runBinary(`${bin}.prev`, ['--version'])).stdout).toContain(
      `parachute ${pkg.version}`,
    );
    // The pre-upgrade backup is a sound copy of hub.db with the admin in it.
    const backups = readdirSync(join(hub.home, 'backups'));
    expect(backups).toHaveLength(1);
    const copy = new Database(join(hub.home, 'backups', backups[0] as string), { readonly: true });
    expect(copy.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    expect(copy.query('SELECT count(*) AS n FROM users').get()).toEqual({ n: 1 });
    copy.close();
    // A second run before the restart (now the new binary) has nothing to do: parachute.prev stays the version that ran.
    const again = await runBinary(bin, ['upgrade', '--hub'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already ${NEW_VERSION}: nothing to do`);
    expect((await runBinary(`${bin}.prev`, ['--version'])).stdout).toContain(
      `parachute ${pkg.version}`,
    );
    // The running hub is still the old one until restarted.
    const url = await hub.listening();
    expect(((await (await fetch(`${url}/health`)).json()) as { version: string }).version).toBe(
      pkg.version,
    );
    await hub.signal('SIGTERM');
    const restarted = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: hub.home, ...NO_MANAGER } });
    hubs.push(restarted);
    const url2 = await restarted.listening();
    expect(((await (await fetch(`${url2}/health`)).json()) as { version: string }).version).toBe(
      NEW_VERSION,
    );
  });
});

describe('/api/hub/upgrade', () => {
  test('GET /api/hub reports the available version from the channel, cached', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const { call } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      ...NO_MANAGER,
    });
    const upgrade = await waitFor('the channel check', async () => {
      const res = await call('GET', '/api/hub');
      const u = (res.json as { upgrade: { latest: string | null; available: boolean } }).upgrade;
      return u.latest ? u : undefined;
    });
    expect(upgrade).toMatchObject({ current: pkg.version, latest: NEW_VERSION, available: true });
  });

  test('without PARACHUTE_RELEASE_URL there is no check, and it says why', async () => {
    const { call } = await hubWithOperator(hubs, { ...NO_MANAGER });
    const res = await call('GET', '/api/hub');
    const u = (res.json as { upgrade: { latest: null; reason: string } }).upgrade;
    expect(u.latest).toBeNull();
    expect(u.reason).toContain('PARACHUTE_RELEASE_URL is not set');
  });

  test('in a container the answer is "redeploy from your platform"; visitors are refused', async () => {
    const { call, url } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      FLY_APP_NAME: 'my-hub',
      ...NO_MANAGER,
    });
    const res = await call('POST', '/api/hub/upgrade', {});
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ error: 'cannot_upgrade' });
    expect(String((res.json as { hint: string }).hint)).toContain('Redeploy from your platform');
    const got = await call('GET', '/api/hub/upgrade');
    expect(got.json).toMatchObject({ can_upgrade: false });
    const anonymous = await new ApiClient(url).post('/api/hub/upgrade', {});
    expect(anonymous.status).toBe(401);
  });
});

describe('an upgrade from the API takes a full backup first when backups are set up', () => {
  type Status = { id: string; state: string; error: string | null; steps: { message: string }[] };
  const finalStatus = (call: OperatorCall, id: string) =>
    waitFor(
      'the upgrade to end',
      async () => {
        const status = (await call('GET', '/api/hub/upgrade')).json.status as Status | null;
        return status?.id === id && status.state !== 'running' ? status : undefined;
      },
      90_000,
    );
  const backupSettings = (folder: string) => ({
    enabled: false,
    target: { kind: 'local', path: folder },
    encryption: { kind: 'passphrase', passphrase: 'a long passphrase nobody guesses' },
  });

  test('the backup is proven, then the binary is replaced', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const { call, bin } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      ...NO_MANAGER,
    });
    const folder = mkdtempSync(join(tmpdir(), 'parachute-upgrade-backups-'));
    expect((await call('PUT', '/api/hub/backups/config', backupSettings(folder))).status).toBe(200);
    const res = await call('POST', '/api/hub/upgrade', {});
    expect(res.status).toBe(202);
    const status = await finalStatus(call, res.json.id as string);
    expect(status.error).toBeNull();
    expect(status.state).toBe('restart_needed');
    const steps = status.steps.map((s) => s.message);
    expect(steps[0]).toContain('Backing up the whole hub');
    const proven = steps.findIndex((m) => m.includes('restored by its drill'));
    const replaced = steps.findIndex((m) => m.startsWith('Replaced '));
    expect(proven).toBeGreaterThan(0);
    expect(replaced).toBeGreaterThan(proven);
    const runs = (await call('GET', '/api/hub/backups')).json.runs as {
      trigger: string;
      state: string;
      object: string;
    }[];
    expect(runs[0]).toMatchObject({ trigger: 'upgrade', state: 'ok' });
    expect(readdirSync(folder)).toEqual([runs[0]?.object as string]);
    expect((await runBinary(bin, ['--version'])).stdout).toContain(`parachute ${NEW_VERSION}`);
    rmSync(folder, { recursive: true, force: true });
  }, 120_000);

  test('a backup that fails stops the upgrade, and nothing is replaced', async () => {
    channel.publish({ binary: newer, version: NEW_VERSION });
    const { call, bin } = await hubWithOperator(hubs, {
      PARACHUTE_RELEASE_URL: channel.url,
      ...NO_MANAGER,
    });
    const folder = mkdtempSync(join(tmpdir(), 'parachute-upgrade-backups-'));
    expect((await call('PUT', '/api/hub/backups/config', backupSettings(folder))).status).toBe(200);
    // The backup disk goes away: a file where its folder was.
    rmSync(folder, { recursive: true });
    writeFileSync(folder, 'not a folder');
    const before = sha256(bin);
    const res = await call('POST', '/api/hub/upgrade', {});
    expect(res.status).toBe(202);
    const status = await finalStatus(call, res.json.id as string);
    expect(status.state).toBe('failed');
    expect(status.error).toContain('The backup before the upgrade failed at upload');
    expect(status.error).toContain('Nothing was upgraded');
    expect(sha256(bin)).toBe(before);
    rmSync(folder, { force: true });
  }, 120_000);
});

test("a request from the hub's account (the system unit's trigger) never installs an older release", async () => {
  // Modules run as the hub's user and can write its request file: the most
  // they may ask for is a newer published release, never an older one.
  const older = brokenBuild('0.0.1');
  channel.publish({ binary: older, version: '0.0.1' });
  try {
    const { bin } = isolatedBinary();
    const home = mkdtempSync(join(tmpdir(), 'parachute-newer-only-'));
    const before = sha256(bin);
    const status = await runUpgrade({
      id: crypto.randomUUID(),
      home,
      binary: bin,
      port: 9,
      env: { PARACHUTE_RELEASE_URL: channel.url },
      manager: null,
      newerOnly: true,
    });
    expect(status.state).toBe('failed');
    expect(status.error).toContain('only goes forward');
    expect(sha256(bin)).toBe(before);
    expect(existsSync(`${bin}.prev`)).toBe(false);
    expect(existsSync(join(home, 'backups'))).toBe(false);
  } finally {
    removeBuild(older);
    channel.publish({ binary: newer, version: NEW_VERSION });
  }
});
