import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { portIsFree } from '../src/modules/ports.ts';
import { ready, spawnHub, waitFor } from './helpers/binary.ts';
import { copyFixture, heldTarball, packFixture, unusedPort } from './helpers/fixtures.ts';
import {
  finishOperation,
  hubWithOperator,
  install,
  type OperatorCall,
  operatorClient,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();

describe('module operations run one at a time hub-wide', () => {
  test('while an install runs, a second install, an upgrade and an uninstall get 409 naming it; then each runs', async () => {
    const { call } = await hubWithOperator(hubs);
    expect((await install(call, { package: await packFixture('late-bind') })).state).toBe(
      'succeeded',
    );
    const held = await heldTarball('good');
    try {
      const first = await call('POST', '/api/modules/install', { package: held.url });
      expect(first.status).toBe(202);
      // Its `bun add` is downloading: the install root is taken until the test lets go.
      await held.asked;
      const other = await packFixture('never-binds');
      const attempts = await Promise.all([
        call('POST', '/api/modules/install', { package: other }),
        call('POST', '/api/modules/fx-late-bind/upgrade', {}),
        call('DELETE', '/api/modules/fx-late-bind'),
      ]);
      for (const res of attempts) {
        expect(res.status).toBe(409);
        expect(res.json).toMatchObject({
          error: 'operation_in_progress',
          operation_id: first.json.operation_id,
        });
        expect(res.json.error_description).toContain(`operation ${first.json.operation_id}`);
      }
      held.release();
      expect(await finishOperation(call, first)).toMatchObject({
        state: 'succeeded',
        module: 'parachute-fixture-good',
      });
      expect((await install(call, { package: other })).state).toBe('succeeded');
      const removed = await call('DELETE', '/api/modules/fx-late-bind');
      expect(removed.json).toMatchObject({ uninstalled: true });
      await running(call, 'fx-good');
    } finally {
      held.server.stop(true);
    }
  }, 60_000);
});

/** Restarts the module (so it runs from what is on disk now) and reaches it through the hub. */
async function works(call: OperatorCall, url: string, name: string, mount: string) {
  const restarted = await call('POST', `/api/modules/${name}/restart`);
  expect(restarted.status).toBe(200);
  const m = await running(call, name);
  expect((await fetch(`${url}${mount}/health`)).status).toBe(200);
  return m;
}

/** Gives the source folder a new version: a new file, as bun links the old one into the install. */
function setVersion(source: string, version: string) {
  const path = join(source, 'package.json');
  const pkg = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(`${path}.new`, JSON.stringify({ ...pkg, version }, null, 2));
  renameSync(`${path}.new`, path);
}

describe('two modules installed from one package', () => {
  test('each keeps working when the other is reinstalled, upgraded or uninstalled', async () => {
    const { call, url, dir, bin, hub } = await hubWithOperator(hubs);
    const source = join(dir, 'good-src');
    copyFixture('good', source);
    // The same server again under a manifest of its own (as test/oauth.test.ts mounts a vault).
    const twin = {
      name: 'fx-twin',
      manifestName: 'parachute-fixture-twin',
      port: unusedPort(),
      paths: ['/fx-twin'],
      health: '/health',
      startCmd: ['fixture-good'],
      stripPrefix: true,
    };
    expect((await install(call, { package: source })).state).toBe('succeeded');
    expect((await install(call, { package: source, manifest: twin })).state).toBe('succeeded');
    const both = async () => [
      await works(call, url, 'fx-good', '/fx-good'),
      await works(call, url, 'fx-twin', '/fx-twin'),
    ];
    await both();

    // Installing one again fails (it is installed) and takes nothing from either.
    const again = await install(call, { package: source });
    expect(again).toMatchObject({ state: 'failed' });
    expect(again.error).toContain('already installed');
    await both();

    // Upgrading either upgrades the one package both run from, each keeping its own manifest.
    setVersion(source, '1.1.0');
    expect(
      (await finishOperation(call, await call('POST', '/api/modules/fx-good/upgrade', {}))).state,
    ).toBe('succeeded');
    for (const m of await both()) expect(m.version).toBe('1.1.0');
    setVersion(source, '1.2.0');
    expect(
      (await finishOperation(call, await call('POST', '/api/modules/fx-twin/upgrade', {}))).state,
    ).toBe('succeeded');
    const [good, twinned] = await both();
    expect(good).toMatchObject({ version: '1.2.0', module: 'fx-good', paths: ['/fx-good'] });
    expect(twinned).toMatchObject({ version: '1.2.0', module: 'fx-twin', paths: ['/fx-twin'] });

    // After a restart of the hub each module still has its own manifest.
    expect(await hub.signal('SIGTERM')).toBe(0);
    const again2 = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: hub.home } });
    hubs.push(again2);
    const url2 = await again2.listening();
    await ready(url2);
    const call2 = operatorClient(url2, hub.home);
    expect(await works(call2, url2, 'fx-good', '/fx-good')).toMatchObject({ module: 'fx-good' });
    expect(await works(call2, url2, 'fx-twin', '/fx-twin')).toMatchObject({ module: 'fx-twin' });

    // Uninstalling one keeps the package the other runs from; the first comes back by installing it.
    expect((await call2('DELETE', '/api/modules/fx-good')).json).toMatchObject({
      uninstalled: true,
    });
    await works(call2, url2, 'fx-twin', '/fx-twin');
    expect((await install(call2, { package: source })).state).toBe('succeeded');
    await works(call2, url2, 'fx-good', '/fx-good');
    expect((await call2('DELETE', '/api/modules/fx-twin')).json).toMatchObject({
      uninstalled: true,
    });
    expect(await works(call2, url2, 'fx-good', '/fx-good')).toMatchObject({ module: 'fx-good' });

    // The last one out takes the package with it.
    await call2('DELETE', '/api/modules/fx-good');
    expect(readFileSync(join(hub.home, 'modules', 'package.json'), 'utf8')).not.toContain(
      'parachute-fixture-good',
    );
  }, 120_000);
});

describe('shutdown', () => {
  test('once the hub is shutting down the module API answers 503 shutting_down and nothing is started', async () => {
    const { call, hub } = await hubWithOperator(hubs);
    for (const fixture of ['good', 'ignores-sigterm']) {
      expect((await install(call, { package: await packFixture(fixture) })).state).toBe(
        'succeeded',
      );
    }
    const port = (await running(call, 'fx-good')).port as number;
    await running(call, 'fx-ignores-sigterm');
    expect((await call('POST', '/api/modules/fx-good/stop')).json.state).toBe('stopped');
    // The module that ignores SIGTERM holds the shutdown open for its 5 s grace.
    hub.proc.kill('SIGTERM');
    await waitFor('shutdown to begin', () =>
      hub.stdout().includes('SIGTERM received, shutting down') ? true : undefined,
    );
    // Wait for the hub even when a check fails: a second SIGTERM (the cleanup's) would make it
    // exit at once, leaving the module that ignores SIGTERM behind.
    const exited = hub.proc.exited;
    try {
      const attempts = await Promise.all([
        call('POST', '/api/modules/fx-good/start'),
        call('POST', '/api/modules/fx-good/restart'),
        call('POST', '/api/modules/install', { package: await packFixture('late-bind') }),
        call('DELETE', '/api/modules/fx-good'),
      ]);
      for (const res of attempts) {
        expect(res.status).toBe(503);
        expect(res.json.error).toBe('shutting_down');
      }
    } finally {
      expect(await exited).toBe(0);
    }
    // Nothing was started after the hub stopped its modules: no process left on the port.
    expect(portIsFree(port)).toBe(true);
  }, 60_000);
});

/** Pids of live processes whose command line mentions `text`. */
function processesNaming(text: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false; // it ended while we looked
    }
  });
}

describe('an install the hub is stopped in the middle of', () => {
  test('leaves no package behind, and nothing of it runs after the hub has exited', async () => {
    const { call, hub } = await hubWithOperator(hubs);
    const held = await heldTarball('good');
    try {
      expect((await call('POST', '/api/modules/install', { package: held.url })).status).toBe(202);
      // Its `bun add` is downloading when the hub is asked to stop.
      await held.asked;
      expect(await hub.signal('SIGTERM')).toBe(0);
      // The home is free for the next hub now: nothing of this one may still write to it.
      expect(processesNaming(held.url)).toEqual([]);
      held.release();
      // Were a `bun add` still running, the download it waited for would now let it finish.
      await waitFor('no process to be installing the package', () =>
        processesNaming(held.url).length === 0 ? true : undefined,
      );
      const modules = join(hub.home, 'modules');
      const dependencies = JSON.parse(readFileSync(join(modules, 'package.json'), 'utf8'))
        .dependencies as Record<string, string>;
      expect(dependencies).toEqual({});
      expect(existsSync(join(modules, 'node_modules', 'parachute-fixture-good'))).toBe(false);
    } finally {
      held.server.stop(true);
    }
  }, 60_000);
});
