import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from './helpers/api.ts';
import { ready, spawnHub, waitFor } from './helpers/binary.ts';
import { packFixture, unusedPort } from './helpers/fixtures.ts';
import { hubWithOperator, install, moduleNamed, SEED, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();

/** A hub with an admin; `call` uses the operator token, like the CLI does. */
async function hubWithToken(env: Record<string, string> = {}) {
  const started = await hubWithOperator(hubs, env);
  const token = (await Bun.file(join(started.hub.home, 'operator.token')).text()).trim();
  return { ...started, token };
}

describe('installing and running modules', () => {
  test('install a packed module: row written, started behind the readiness gate, child env as specified', async () => {
    const { call, hub, url } = await hubWithToken();
    const op = await install(call, { package: await packFixture('good') });
    expect(op).toMatchObject({ state: 'succeeded', module: 'parachute-fixture-good' });
    const m = await waitFor('running', async () => {
      const found = await moduleNamed(call, 'fx-good');
      return found?.state === 'running' ? found : undefined;
    });
    expect(m).toMatchObject({
      name: 'parachute-fixture-good',
      version: '1.0.0',
      restarts: 0,
      paths: ['/fx-good'],
    });
    const services = JSON.parse(readFileSync(join(hub.home, 'services.json'), 'utf8'));
    expect(services.services[0]).toMatchObject({
      name: 'parachute-fixture-good',
      port: m.port,
      installDir: expect.stringContaining('/modules/node_modules/'),
    });
    expect(((await (await fetch(`${url}/health`)).json()) as { modules: unknown }).modules).toEqual(
      { running: 1, total: 1 },
    );

    // What the child was given (modules.md section 4).
    const env = (await (await fetch(`http://127.0.0.1:${m.port}/env`)).json()) as Record<
      string,
      string | null
    >;
    expect(env.PORT).toBe(String(m.port));
    expect(env.PARACHUTE_HOME).toBe(hub.home);
    expect(env.PARACHUTE_HUB_ORIGIN).toBe(url);
    expect(env.PARACHUTE_HUB_ORIGINS?.split(',')).toContain(url);
    expect(env.PARACHUTE_INITIAL_ADMIN_PASSWORD).toBeNull();
    expect(env.PATH?.split(':')[0]).toBe(join(hub.home, 'bin'));
    expect(existsSync(join(hub.home, 'bin', 'bun'))).toBe(true);

    // Its output is in the log buffer and on the hub's stdout.
    const logs = await call('GET', '/api/modules/fx-good/logs?tail=10');
    expect((logs.json.lines as { line: string }[]).some((l) => l.line.includes('listening'))).toBe(
      true,
    );
    expect(hub.stdout()).toContain('[parachute-fixture-good] fx-good listening');
  });

  test('a manifest that is invalid fails the install with the field named, leaving no row and no package', async () => {
    const { call, hub, dir } = await hubWithToken();
    const pkg = join(dir, 'bad-module');
    mkdirSync(join(pkg, '.parachute'), { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'bad-module', version: '1.0.0' }),
    );
    writeFileSync(
      join(pkg, '.parachute', 'module.json'),
      JSON.stringify({
        name: 'Bad',
        manifestName: 'bad',
        port: 1990,
        paths: [],
        health: '/health',
      }),
    );
    const op = await install(call, { package: pkg });
    expect(op.state).toBe('failed');
    expect(op.error).toContain('invalid: name');
    expect(
      existsSync(join(hub.home, 'services.json'))
        ? readFileSync(join(hub.home, 'services.json'), 'utf8')
        : '',
    ).not.toContain('bad');
    expect(readFileSync(join(hub.home, 'modules', 'package.json'), 'utf8')).not.toContain(
      'bad-module',
    );
    expect((await call('GET', '/api/modules')).json.modules).toEqual([]);
  });

  test('the API needs the admin scope, names unknown modules, and refuses to start what has no startCmd', async () => {
    const { call, url } = await hubWithToken();
    expect((await new ApiClient(url, { origin: null }).get('/api/modules')).status).toBe(401);
    const missing = await call('POST', '/api/modules/nope/start');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe('unknown_module');
    expect((await call('POST', '/api/modules/install', { package: '' })).json.error).toBe(
      'invalid_request',
    );
  });
});

describe('a host with no Bun (and no Node) on PATH', () => {
  test('a module whose bin starts #!/usr/bin/env bun runs through the hub’s shims', async () => {
    // Only system dirs: no node_modules/.bin, no ~/.bun, no /usr/local/bin.
    const { call, hub } = await hubWithToken({ PATH: '/usr/bin:/bin' });
    expect(Bun.which('bun', { PATH: '/usr/bin:/bin' })).toBeNull();
    const op = await install(call, { package: await packFixture('good') });
    expect(op.state).toBe('succeeded');
    const m = await waitFor('running', async () => {
      const found = await moduleNamed(call, 'fx-good');
      return found?.state === 'running' ? found : undefined;
    });
    const env = (await (await fetch(`http://127.0.0.1:${m.port}/env`)).json()) as {
      PATH: string;
      bunVersion: string;
    };
    expect(env.PATH).toBe(`${join(hub.home, 'bin')}:/usr/bin:/bin`);
    expect(env.bunVersion).toBe(Bun.version);
    // (ensureShims' node mapping for hosts without Node: src/modules/shims.test.ts)
  });
});

describe('control, logs and uninstall', () => {
  test('stop, start, restart; logs with tail and follow; uninstall with purge', async () => {
    const { call, hub, url, token } = await hubWithToken();
    await install(call, { package: await packFixture('good') });
    const m = await waitFor('running', async () =>
      (await moduleNamed(call, 'fx-good'))?.state === 'running' ? true : undefined,
    );
    expect(m).toBe(true);
    const stop = await call('POST', '/api/modules/fx-good/stop');
    expect(stop.json).toEqual({ name: 'parachute-fixture-good', state: 'stopped' });
    expect((await call('POST', '/api/modules/parachute-fixture-good/start')).json.state).toBe(
      'starting',
    );
    await waitFor('running again', async () =>
      (await moduleNamed(call, 'fx-good'))?.state === 'running' ? true : undefined,
    );
    const port = (await moduleNamed(call, 'fx-good'))?.port as number;
    await fetch(`http://127.0.0.1:${port}/log?line=marker-for-follow`);

    // Follow: the buffer first, then new lines as they are written.
    const res = await fetch(`${url}/api/modules/fx-good/logs?follow=1&tail=50`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.headers.get('content-type')).toStartWith('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    await waitFor('the buffered marker', async () => {
      text += new TextDecoder().decode((await reader.read()).value);
      return text.includes('marker-for-follow') ? true : undefined;
    });
    await fetch(`http://127.0.0.1:${port}/log?line=written-after-follow`);
    await waitFor('the live line', async () => {
      text += new TextDecoder().decode((await reader.read()).value);
      return text.includes('written-after-follow') ? true : undefined;
    });
    await reader.cancel();

    // Changing the issuer origin restarts modules, which then see it (auth.md section 1).
    const originChange = await call('PUT', '/api/hub/origin', {
      origin: 'https://hub.example.com',
    });
    expect(originChange.status).toBe(200);
    await waitFor('restarted with the new origin', async () => {
      try {
        const seen = (await (await fetch(`http://127.0.0.1:${port}/env`)).json()) as Record<
          string,
          string
        >;
        return seen.PARACHUTE_HUB_ORIGIN === 'https://hub.example.com' ? true : undefined;
      } catch {
        return undefined;
      }
    });
    expect((await moduleNamed(call, 'fx-good'))?.restarts).toBe(0);

    // A restart reads the module's .env again.
    mkdirSync(join(hub.home, 'fx-good'), { recursive: true });
    writeFileSync(
      join(hub.home, 'fx-good', '.env'),
      'FIXTURE_DOTENV=edited-after-install\nPORT=1\n',
    );
    expect((await call('POST', '/api/modules/fx-good/restart')).json.state).toBe('starting');
    await waitFor('running with the new .env', async () =>
      (await moduleNamed(call, 'fx-good'))?.state === 'running' ? true : undefined,
    );
    const env = (await (await fetch(`http://127.0.0.1:${port}/env`)).json()) as Record<
      string,
      string
    >;
    expect(env.FIXTURE_DOTENV).toBe('edited-after-install');
    expect(env.PORT).toBe(String(port));

    writeFileSync(join(hub.home, 'fx-good', 'data.txt'), 'module data');
    const removed = await call('DELETE', '/api/modules/fx-good?purge=1');
    expect(removed.json).toMatchObject({ uninstalled: true, purged: true });
    expect((await call('GET', '/api/modules')).json.modules).toEqual([]);
    expect(existsSync(join(hub.home, 'fx-good'))).toBe(false);
    expect(readFileSync(join(hub.home, 'modules', 'package.json'), 'utf8')).not.toContain(
      'parachute-fixture-good',
    );
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});

describe('recovery', () => {
  test('hub killed with SIGKILL: on restart the orphan is stopped and the module runs again on its port', async () => {
    const { call, hub, bin, dir } = await hubWithToken();
    await install(call, { package: await packFixture('good') });
    const before = await waitFor('running', async () => {
      const m = await moduleNamed(call, 'fx-good');
      return m?.state === 'running' ? m : undefined;
    });
    hub.proc.kill('SIGKILL');
    await hub.proc.exited;
    // The orphan still holds the port until the next hub deals with it.
    expect((await fetch(`http://127.0.0.1:${before.port}/health`)).status).toBe(200);

    const again = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: hub.home } });
    hubs.push(again);
    const url = await again.listening();
    await ready(url);
    expect(again.stderr()).toContain(`left running by a hub that did not shut down cleanly`);
    const token = (await Bun.file(join(hub.home, 'operator.token')).text()).trim();
    const api = new ApiClient(url, { origin: null });
    const after = await waitFor('running after restart', async () => {
      const list = (await api.get('/api/modules', { authorization: `Bearer ${token}` })).json
        .modules as Record<string, unknown>[];
      return list[0]?.state === 'running' ? list[0] : undefined;
    });
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    expect(again.stderr()).not.toContain('port_held');
    const env = (await (await fetch(`http://127.0.0.1:${after.port}/env`)).json()) as {
      pid: number;
    };
    expect(env.pid).toBe(after.pid as number);
  });

  test('a malformed services.json is reported at boot; the hub stays up and does not overwrite it', async () => {
    const { dir, bin } = await hubWithToken();
    const home = join(dir, 'broken-home');
    mkdirSync(home);
    writeFileSync(join(home, 'services.json'), '{"services": [ {"name": "x",');
    const hub = spawnHub(bin, { cwd: dir, env: { ...SEED, PARACHUTE_HOME: home } });
    hubs.push(hub);
    const url = await hub.listening();
    await ready(url);
    expect(hub.stderr()).toContain('services.json is not valid JSON');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(readFileSync(join(home, 'services.json'), 'utf8')).toBe('{"services": [ {"name": "x",');
  });
});

describe('a real npm package that ships no manifest', () => {
  test('http-server installed from the registry with a manifest given at install, reachable on its port', async () => {
    const { call } = await hubWithToken();
    const op = await install(call, {
      package: 'http-server@14.1.1',
      manifest: {
        name: 'files',
        manifestName: 'files',
        port: unusedPort(),
        paths: ['/files'],
        health: '/',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the hub replaces this literal placeholder
        startCmd: ['http-server', '-p', '${PORT}', '-a', '127.0.0.1', '--silent'],
      },
    });
    expect(op.state).toBe('succeeded');
    const m = await waitFor(
      'http-server running',
      async () => {
        const found = await moduleNamed(call, 'files');
        return found?.state === 'running' ? found : undefined;
      },
      30_000,
    );
    const res = await fetch(`http://127.0.0.1:${m.port}/`);
    expect(res.status).toBe(200);
    // http-server lists its working directory: the package's own files.
    expect(await res.text()).toContain('package.json');
  }, 90_000);
});
