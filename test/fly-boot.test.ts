/**
 * `parachute fly-boot`, the launcher a Fly machine runs (README, "Deploy to
 * Fly"), run here as it runs there, with no Fly: a temp folder is the volume,
 * the real compiled binary is the image's launcher, and a release channel on
 * loopback serves real builds (test/helpers/newer-build.ts) and SHA256SUMS.
 * It seeds the hub binary onto the volume, upgrades it in place (from the
 * API and the CLI, rolled back when the new build does not come up), rolls
 * it to PARACHUTE_VERSION at boot, stops with no orphan, and takes a whole
 * hub through POST /api/hub/import.
 */

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { detectAsset } from '../src/platform/release-asset.ts';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { runBinary, waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  APP,
  answers,
  answers200,
  healthVersion,
  type Launcher,
  readyAt,
  startLauncher,
  trackLaunchers,
} from './helpers/launcher.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  operatorClient,
  running,
  SEED,
  trackHubs,
} from './helpers/modules.ts';
import { brokenBuild, buildVersion, NEW_VERSION, removeBuild } from './helpers/newer-build.ts';
import { ReleaseServer, sha256 } from './helpers/release-server.ts';

const BUILT = resolve(import.meta.dir, '../dist/parachute');
const hubs = trackHubs();
trackLaunchers();
let newer: string;
let channel: ReleaseServer;
const broken: string[] = [];

beforeAll(async () => {
  newer = await buildVersion();
  channel = new ReleaseServer(detectAsset(), { binary: BUILT, version: pkg.version });
}, 120_000);
afterAll(async () => {
  channel?.stop();
  removeBuild(newer);
  for (const b of broken) removeBuild(b);
});

const volume = () => mkdtempSync(join(tmpdir(), 'parachute-fly-volume-'));
const hubBinary = (vol: string) => join(vol, 'hub-binary', 'parachute');
const upgradeJson = (vol: string) =>
  JSON.parse(readFileSync(join(vol, 'upgrade.json'), 'utf8')) as {
    id: string;
    state: string;
    from: string;
    to: string;
    error: string | null;
    steps: { message: string }[];
  };

/** Polls `url` every 50 ms until stopped; the longest stretch it did not answer 200, in ms. */
function watchDowntime(url: string) {
  let watching = true;
  let longest = 0;
  let downSince: number | null = null;
  const done = (async () => {
    while (watching) {
      const ok = await answers200(url);
      const now = performance.now();
      if (!ok && downSince === null) downSince = now;
      if (ok && downSince !== null) {
        longest = Math.max(longest, now - downSince);
        downSince = null;
      }
      await Bun.sleep(50);
    }
  })();
  return async () => {
    watching = false;
    await done;
    return longest;
  };
}

function processGone(pid: number) {
  return waitFor(`pid ${pid} to be gone`, () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? true : undefined;
    } catch {
      return true;
    }
  });
}

describe('seeding the hub binary on the volume', () => {
  test('from the release channel, checked against SHA256SUMS', async () => {
    channel.publish({ binary: BUILT, version: pkg.version });
    const vol = volume();
    const before = channel.requests.length;
    const launcher = startLauncher(vol, { PARACHUTE_RELEASE_URL: channel.url });
    await answers(launcher, pkg.version);
    expect(channel.requests.slice(before)).toEqual(['/SHA256SUMS', `/${detectAsset()}`]);
    expect(sha256(hubBinary(vol))).toBe(sha256(BUILT));
    expect(launcher.out()).toContain(`Downloading ${detectAsset()} ${pkg.version}`);
    // The hub is the child, told it runs under the launcher: it may upgrade itself.
    const runtime = JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8'));
    expect(runtime.pid).not.toBe(launcher.proc.pid);
    expect(runtime.origin).toBe(`https://${APP}.fly.dev`);
    expect(await launcher.stop()).toBe(0);
  }, 60_000);

  test('a checksum mismatch is refused; the first boot comes up on the launcher’s own binary', async () => {
    channel.publish({
      binary: BUILT,
      version: pkg.version,
      sums: `${'0'.repeat(64)}  ${detectAsset()}\n`,
    });
    const vol = volume();
    const launcher = startLauncher(vol, { PARACHUTE_RELEASE_URL: channel.url });
    await answers(launcher, pkg.version);
    expect(launcher.out()).toContain('checksum mismatch');
    expect(launcher.out()).toContain("Using this launcher's own binary");
    expect(readdirSync(join(vol, 'hub-binary'))).toEqual(['parachute']);
    expect(sha256(hubBinary(vol))).toBe(sha256(launcher.bin));
    expect(await launcher.stop()).toBe(0);
    channel.publish({ binary: BUILT, version: pkg.version });
  }, 60_000);
});

describe('upgrading in place', () => {
  let launcher: Launcher;
  let vol: string;
  let call: OperatorCall;

  beforeAll(async () => {
    channel.publish({ binary: BUILT, version: pkg.version });
    vol = volume();
    launcher = startLauncher(vol, {
      ...SEED,
      PARACHUTE_RELEASE_URL: channel.url,
      PARACHUTE_UPGRADE_HEALTH_S: '20',
    });
    await answers(launcher, pkg.version);
    await readyAt(launcher.url);
    call = operatorClient(launcher.url, vol);
    // A module, so the figure includes stopping and starting one.
    expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
    await running(call, 'fx-good');
  }, 60_000);

  test('from the API (the Upgrade page): the new version answers, the old is kept as parachute.prev', async () => {
    const page = await call('GET', '/api/hub/upgrade');
    expect(page.json).toMatchObject({ can_upgrade: true, refusal: null });
    channel.publish({ binary: newer, version: NEW_VERSION });
    const downtime = watchDowntime(`${launcher.url}/health`);
    const moduleDowntime = watchDowntime(`${launcher.url}/fx-good/health`);
    const res = await call('POST', '/api/hub/upgrade', {});
    expect(res.status).toBe(202);
    const id = res.json.id as string;
    const status = await waitFor(
      'the upgrade to end',
      async () => {
        const s = (await call('GET', '/api/hub/upgrade').catch(() => null))?.json?.status as
          | { id: string; state: string; steps: { message: string }[]; error: string | null }
          | undefined;
        return s?.id === id && s.state !== 'running' ? s : undefined;
      },
      90_000,
    );
    const downMs = await downtime();
    const moduleDownMs = await moduleDowntime();
    expect(status.error).toBeNull();
    expect(status.state).toBe('succeeded');
    const steps = status.steps.map((s) => s.message);
    expect(steps).toContain('Restarting the hub through its launcher (fly-boot)');
    expect(steps).toContain(`The hub answers /health with ${NEW_VERSION}`);
    expect(await healthVersion(launcher.url)).toBe(NEW_VERSION);
    expect((await runBinary(`${hubBinary(vol)}.prev`, ['--version'])).stdout).toContain(
      `parachute ${pkg.version}`,
    );
    // The launcher itself never changed: only the volume's binary did.
    expect(sha256(launcher.bin)).toBe(sha256(BUILT));
    console.log(
      `in-place upgrade on the launcher: /health did not answer for ${Math.round(downMs)} ms, the module for ${Math.round(moduleDownMs)} ms`,
    );
    // The module came back with the new hub.
    await running(call, 'fx-good');
    expect(downMs).toBeLessThan(20_000);
    // The outcome reaches the audit log once.
    const audit = (await call('GET', '/api/audit?action=hub.upgrade')).json.entries as {
      outcome: string;
    }[];
    expect(audit.map((e) => e.outcome)).toEqual(['success', 'started']);
  }, 120_000);

  test('the upgrade survives a restart of the machine', async () => {
    expect(await launcher.stop()).toBe(0);
    launcher = startLauncher(vol, { PARACHUTE_RELEASE_URL: channel.url });
    await answers(launcher, NEW_VERSION);
    expect(launcher.out()).toContain(`Hub binary ${NEW_VERSION}`);
    await readyAt(launcher.url);
    call = operatorClient(launcher.url, vol);
  }, 60_000);

  test('a new build that does not come up is rolled back; the API says rolled_back', async () => {
    const bad = brokenBuild('99.0.1');
    broken.push(bad);
    channel.publish({ binary: bad, version: '99.0.1' });
    // From a shell on the machine: the image's parachute hands over to the binary on the volume.
    const cli = await runBinary(launcher.bin, ['upgrade', '--hub'], {
      env: {
        PARACHUTE_HOME: vol,
        PARACHUTE_RELEASE_URL: channel.url,
        PARACHUTE_UPGRADE_HEALTH_S: '10',
        FLY_APP_NAME: APP,
        PARACHUTE_IMAGE: '1',
        INVOCATION_ID: '',
      },
    });
    expect(cli.stdout).toContain(`Upgrading the hub from ${NEW_VERSION}`);
    expect(cli.stderr).toContain('rolled back: 99.0.1 exited (1) before answering /health');
    expect(cli.code).toBe(1);
    await answers(launcher, NEW_VERSION);
    await readyAt(launcher.url);
    const status = (await call('GET', '/api/hub/upgrade')).json.status as {
      state: string;
      error: string;
      steps: { message: string }[];
    };
    expect(status.state).toBe('rolled_back');
    expect(status.error).toContain('99.0.1 exited (1) before answering /health');
    expect(status.steps.at(-1)?.message).toBe(`Rolled back: ${NEW_VERSION} answers again`);
    expect((await runBinary(hubBinary(vol), ['--version'])).stdout).toContain(NEW_VERSION);
  }, 120_000);
});

describe('PARACHUTE_VERSION at boot (deploy fly --version)', () => {
  test('rolls the volume binary to that version once, and rolls back a build that does not come up', async () => {
    const vol = volume();
    const first = startLauncher(vol);
    await answers(first, pkg.version);
    expect(first.out()).toContain('PARACHUTE_RELEASE_URL is not set');
    expect(await first.stop()).toBe(0);

    channel.publish({ binary: newer, version: NEW_VERSION });
    const env = { PARACHUTE_RELEASE_URL: channel.url, PARACHUTE_VERSION: NEW_VERSION };
    const rolled = startLauncher(vol, env);
    await answers(rolled, NEW_VERSION);
    await waitFor('upgrade.json to say succeeded', () =>
      upgradeJson(vol).state === 'succeeded' ? true : undefined,
    );
    expect(upgradeJson(vol)).toMatchObject({ from: pkg.version, to: NEW_VERSION });
    expect(await rolled.stop()).toBe(0);

    // The same request again (a plain restart): nothing is fetched.
    const before = channel.requests.length;
    const again = startLauncher(vol, env);
    await answers(again, NEW_VERSION);
    expect(channel.requests.length).toBe(before);
    expect(await again.stop()).toBe(0);

    const bad = brokenBuild('99.0.2');
    broken.push(bad);
    channel.publish({ binary: bad, version: '99.0.2' });
    const failing = startLauncher(vol, {
      ...env,
      PARACHUTE_VERSION: '99.0.2',
      PARACHUTE_UPGRADE_HEALTH_S: '10',
    });
    await waitFor('upgrade.json to say rolled_back', () =>
      upgradeJson(vol).state === 'rolled_back' ? true : undefined,
    );
    await answers(failing, NEW_VERSION);
    expect(upgradeJson(vol)).toMatchObject({ from: NEW_VERSION, to: '99.0.2' });
    expect(failing.out()).toContain('broken build: exiting');
    expect(await failing.stop()).toBe(0);

    // A build that starts but never answers: stopped when its time is up, and rolled back.
    const dir = mkdtempSync(join(tmpdir(), 'parachute-hangs-'));
    const hangs = join(dir, 'parachute');
    writeFileSync(
      hangs,
      '#!/bin/sh\nif [ "$1" = --version ]; then echo "parachute 99.0.3 (commit hangs)"; exit 0; fi\nexec sleep 600\n',
      { mode: 0o755 },
    );
    channel.publish({ binary: hangs, version: '99.0.3' });
    const stuck = startLauncher(vol, {
      ...env,
      PARACHUTE_VERSION: '99.0.3',
      PARACHUTE_UPGRADE_HEALTH_S: '3',
    });
    await waitFor('upgrade.json to say rolled_back', () =>
      upgradeJson(vol).to === '99.0.3' && upgradeJson(vol).state === 'rolled_back'
        ? true
        : undefined,
    );
    expect(upgradeJson(vol).error).toContain('99.0.3 did not answer /health within 3 s');
    await answers(stuck, NEW_VERSION);
    expect(await stuck.stop()).toBe(0);
  }, 180_000);
});

describe('stopping', () => {
  test('SIGTERM stops the hub and its modules; no process is left', async () => {
    const vol = volume();
    const launcher = startLauncher(vol, { ...SEED, PARACHUTE_IMPORT_TOKEN: 'import-me' });
    await answers(launcher, pkg.version);
    await readyAt(launcher.url);
    const call = operatorClient(launcher.url, vol);
    const op = await install(call, { package: await packFixture('ledger') });
    expect(op.state).toBe('succeeded');
    const ledger = await running(call, 'fx-ledger');
    // A hub with an admin and a module takes no import, even with the token.
    const refused = await fetch(`${launcher.url}/api/hub/import`, {
      method: 'POST',
      headers: { authorization: 'Bearer import-me', 'content-type': 'application/gzip' },
      body: new Uint8Array([0x1f, 0x8b]),
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toBe('hub_not_empty');
    expect(existsSync(join(vol, 'import-token.used'))).toBe(false);

    const hubPid = JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8')).pid as number;
    expect(await launcher.stop()).toBe(0);
    await processGone(hubPid);
    await processGone(ledger.pid as number);
    expect(launcher.out()).toContain('[hub] stopped');
  }, 90_000);
});

describe('POST /api/hub/import: moving a hub onto the launcher', () => {
  let archive: string;
  let jwks: unknown;
  let rows: number;
  let clientId: string;
  let sourceHome: string;
  let hubToken: string;
  const TOKEN_1 = `import-${crypto.randomUUID()}`;
  const TOKEN_2 = `import-${crypto.randomUUID()}`;

  beforeAll(async () => {
    const source = await hubWithOperator(hubs);
    sourceHome = source.hub.home;
    for (const fixture of ['ledger', 'good']) {
      const op = await install(source.call, { package: await packFixture(fixture) });
      expect(op.state).toBe('succeeded');
      await running(source.call, `fx-${fixture}`);
    }
    expect((await fetch(`${source.url}/fx-ledger/seed?mb=3`, { method: 'POST' })).status).toBe(200);
    rows = ((await (await fetch(`${source.url}/fx-ledger/count`)).json()) as { rows: number }).rows;
    const registered = await fetch(`${source.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1:4711/cb'],
        client_name: 'Moving app',
      }),
    });
    expect(registered.status).toBe(201);
    clientId = ((await registered.json()) as { client_id: string }).client_id;
    jwks = await (await fetch(`${source.url}/.well-known/jwks.json`)).json();
    // A token the old hub minted with its operator token (subject operator, audience
    // fx-ledger): not the operator token, so refused after the move.
    const minted = await source.call('POST', '/api/auth/mint-token', { scope: 'fx-ledger:read' });
    expect(minted.status).toBe(200);
    hubToken = minted.json.token as string;
    archive = join(mkdtempSync(join(tmpdir(), 'parachute-fly-export-')), 'hub.tar.gz');
    const exported = await runBinary(source.bin, ['export', '-o', archive], {
      env: { PARACHUTE_HOME: source.hub.home },
    });
    expect(exported.code).toBe(0);
    // Larger than the 1 MiB the hub's other APIs take: the import is streamed past that limit.
    expect(Bun.file(archive).size).toBeGreaterThan(1024 * 1024);
    // The old hub goes away (its module's port is the same on the new machine).
    source.hub.proc.kill('SIGTERM');
    await source.hub.proc.exited;
  }, 120_000);

  const post = (url: string, token: string | null, body: BodyInit) =>
    fetch(`${url}/api/hub/import`, {
      method: 'POST',
      headers: {
        'content-type': 'application/gzip',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  /** The status line the hub answers to an upload that declares `length` bytes and sends none. */
  const declared = (url: string, token: string, length: number) => {
    const { hostname, port } = new URL(url);
    return new Promise<string>((done, fail) => {
      let text = '';
      void Bun.connect({
        hostname,
        port: Number(port),
        socket: {
          open(socket) {
            socket.write(
              `POST /api/hub/import HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/gzip\r\nContent-Length: ${length}\r\n\r\n`,
            );
          },
          data(socket, chunk) {
            text += chunk.toString();
            if (text.includes('\r\n')) {
              done(text.slice(0, text.indexOf('\r\n')));
              socket.end();
            }
          },
          close: () => done(text),
          error: (_socket, error) => fail(error),
        },
      }).catch(fail);
    });
  };

  test('a hub not run by the launcher refuses it', async () => {
    const { hub, url } = await freshHub({ PARACHUTE_IMPORT_TOKEN: TOKEN_1 });
    hubs.push(hub);
    const res = await post(url, TOKEN_1, Bun.file(archive));
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toBe('no_launcher');
  }, 60_000);

  test('no token or a wrong one, a tampered archive, a used token: refused, nothing changed', async () => {
    const vol = volume();
    const launcher = startLauncher(vol, { PARACHUTE_IMPORT_TOKEN: TOKEN_1 });
    await answers(launcher, pkg.version);
    await readyAt(launcher.url);
    const hubPid = JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8')).pid;
    expect((await post(launcher.url, null, Bun.file(archive))).status).toBe(401);
    expect((await post(launcher.url, TOKEN_2, Bun.file(archive))).status).toBe(401);
    expect((await post(launcher.url, `${TOKEN_1}x`, Bun.file(archive))).status).toBe(401);
    expect(existsSync(join(vol, 'import-token.used'))).toBe(false);
    // An upload that says it is over 8 GB is refused before a byte is stored; the token is not spent.
    expect(await declared(launcher.url, TOKEN_1, 9 * 1024 ** 3)).toBe(
      'HTTP/1.1 413 Payload Too Large',
    );
    expect(existsSync(join(vol, 'import-token.used'))).toBe(false);

    // One byte flipped deep inside: the archive no longer matches its manifest.
    const bytes = await Bun.file(archive).bytes();
    const tampered = new Uint8Array(bytes);
    const at = Math.floor(tampered.length / 2);
    tampered[at] = (tampered[at] as number) ^ 0xff;
    const res = await post(launcher.url, TOKEN_1, tampered);
    expect(res.status).toBe(400);
    const refusal = (await res.json()) as { error: string; error_description: string };
    expect(refusal.error).toBe('invalid_export');
    expect(refusal.error_description).toStartWith('refusing to import the uploaded export: ');
    // Still the same empty hub, and nothing staged.
    expect((await new ApiClient(launcher.url).get('/api/setup')).json).toEqual({
      setup_required: true,
    });
    expect(JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8')).pid).toBe(hubPid);
    expect(existsSync(join(vol, 'fx-ledger'))).toBe(false);
    expect(readdirSync(join(vol, 'tmp', 'import'))).toEqual([]);
    // That token is spent: the good archive is refused with it.
    const again = await post(launcher.url, TOKEN_1, Bun.file(archive));
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toBe('import_token_used');
    expect(await launcher.stop()).toBe(0);
  }, 90_000);

  test('with a new token, the launcher restarts as the moved hub, on https://NAME.fly.dev', async () => {
    const vol = volume();
    const launcher = startLauncher(vol, { PARACHUTE_IMPORT_TOKEN: TOKEN_2 });
    await answers(launcher, pkg.version);
    await readyAt(launcher.url);
    const emptyPid = JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8')).pid;
    // Two at once (sent chunked, as a streamed upload is): one is taken, the other refused.
    const [one, two] = await Promise.all([
      post(launcher.url, TOKEN_2, Bun.file(archive).stream()),
      post(launcher.url, TOKEN_2, Bun.file(archive).stream()),
    ]);
    const res = one.status === 202 ? one : two;
    const other = one.status === 202 ? two : one;
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ state: 'restarting' });
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toBe('import_token_used');

    await waitFor(
      'the moved hub',
      async () => {
        const runtime = existsSync(join(vol, 'run', 'hub.json'))
          ? JSON.parse(readFileSync(join(vol, 'run', 'hub.json'), 'utf8'))
          : null;
        if (!runtime?.origin || runtime.pid === emptyPid) return undefined;
        const setup = await new ApiClient(launcher.url).get('/api/setup').catch(() => null);
        return setup?.json.setup_required === false ? true : undefined;
      },
      60_000,
    );
    expect(launcher.out()).toContain('Imported ');
    expect(JSON.parse(readFileSync(join(vol, 'run', 'import.json'), 'utf8'))).toMatchObject({
      state: 'succeeded',
      error: null,
    });
    // The same password signs in; the same signing keys; the issuer is the Fly app's.
    const person = new ApiClient(launcher.url);
    await person.login(ADMIN.username, ADMIN.password);
    expect(await (await fetch(`${launcher.url}/.well-known/jwks.json`)).json()).toEqual(jwks);
    const metadata = (await (
      await fetch(`${launcher.url}/.well-known/oauth-authorization-server`)
    ).json()) as { issuer: string };
    expect(metadata.issuer).toBe(`https://${APP}.fly.dev`);
    const clients = (await person.get('/api/oauth/clients')).json.clients as {
      client_id: string;
    }[];
    expect(clients.map((c) => c.client_id)).toContain(clientId);
    // The module runs on its data, told the new origin.
    const call = operatorClient(launcher.url, vol);
    await running(call, 'fx-ledger');
    const counted = (await (await fetch(`${launcher.url}/fx-ledger/count`)).json()) as {
      rows: number;
    };
    expect(counted.rows).toBe(rows);
    await running(call, 'fx-good');
    const env = (await (await fetch(`${launcher.url}/fx-good/env`)).json()) as {
      PARACHUTE_HUB_ORIGIN: string;
    };
    expect(env.PARACHUTE_HUB_ORIGIN).toBe(`https://${APP}.fly.dev`);
    // The binary stayed on the volume, the archive is gone, and the token stays spent.
    expect(existsSync(hubBinary(vol))).toBe(true);
    expect(existsSync(join(vol, 'tmp', 'import', 'hub.tar.gz'))).toBe(false);
    const second = await post(launcher.url, TOKEN_2, Bun.file(archive));
    expect(second.status).toBe(409);
    expect(await errorOf(second)).toBe('import_token_used');

    // The way back: `parachute export --from fly`, through the edge, checked like any export,
    // with the old host's own operator.token (the moved hub keeps accepting it).
    const back = join(mkdtempSync(join(tmpdir(), 'parachute-fly-back-')), 'back.tar.gz');
    const fromOldHost = { PARACHUTE_FLY_EDGE: launcher.url, PARACHUTE_HOME: sourceHome };
    const exported = await runBinary(
      launcher.bin,
      ['export', '--from', 'fly', '--app', APP, '-o', back],
      { env: fromOldHost },
    );
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`to ${back}`);
    // The machine's own files are not part of the hub.
    const entries = [...(await new Bun.Archive(await Bun.file(back).bytes()).files()).keys()];
    expect(entries).toContain('home/hub.db');
    expect(
      entries.filter((e) => e.startsWith('home/hub-binary') || e.includes('import-token')),
    ).toEqual([]);
    const wrong = await runBinary(launcher.bin, ['export', '--from', 'fly', '--app', APP], {
      env: { ...fromOldHost, PARACHUTE_TOKEN: 'not-a-token' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`https://${APP}.fly.dev/api/hub/export refused the token`);
    // The moved hub minted its own for its new origin, and still takes the old host's.
    const oldToken = readFileSync(join(sourceHome, 'operator.token'), 'utf8').trim();
    expect(readFileSync(join(vol, 'operator.token'), 'utf8').trim()).not.toBe(oldToken);
    const before = await fetch(`${launcher.url}/api/hub`, {
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(before.status).toBe(200);
    // Only that operator token: another token from the old origin, signed by the same keys, is refused.
    // (mint-token takes a bearer of any audience, and judges it by its scopes.)
    const sameKeys = await fetch(`${launcher.url}/api/auth/mint-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hubToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'fx-ledger:read' }),
    });
    expect(sameKeys.status).toBe(401);
    const viaOperator = await fetch(`${launcher.url}/api/auth/mint-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oldToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'fx-ledger:read' }),
    });
    expect(viaOperator.status).toBe(200);
    // Rotating the operator token on the moved hub ends the old copy.
    expect((await call('POST', '/api/hub/operator-token/rotate', {})).status).toBe(200);
    const ended = await fetch(`${launcher.url}/api/hub`, {
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(ended.status).toBe(401);
    const current = readFileSync(join(vol, 'operator.token'), 'utf8').trim();
    const again2 = await runBinary(
      launcher.bin,
      ['export', '--from', 'fly', '--app', APP, '-o', `${back}.2`],
      { env: { ...fromOldHost, PARACHUTE_TOKEN: current } },
    );
    expect(again2.code).toBe(0);
    expect(await launcher.stop()).toBe(0);
  }, 150_000);
});
