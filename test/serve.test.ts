import { Database } from 'bun:sqlite';
import { afterEach, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type HubProcess,
  isolatedBinary,
  ready,
  runBinary,
  spawnHub,
  waitFor,
} from './helpers/binary.ts';

const { dir, bin } = isolatedBinary();
const running: HubProcess[] = [];
const start = (options: Parameters<typeof spawnHub>[1]) => {
  const hub = spawnHub(bin, options);
  running.push(hub);
  return hub;
};
afterEach(() => {
  for (const hub of running.splice(0)) hub.proc.kill('SIGKILL');
});

const freshDir = (name: string) => {
  const path = join(dir, `${name}-${crypto.randomUUID().slice(0, 8)}`);
  mkdirSync(path);
  return path;
};

/** A port that was free a moment ago (for tests of the PORT variable itself). */
function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

describe('parachute serve', () => {
  test('listens on PORT and PARACHUTE_BIND_HOST and keeps its state in PARACHUTE_HOME', async () => {
    const cwd = freshDir('env');
    const port = freePort();
    const home = join(cwd, 'state');
    const hub = start({
      cwd,
      env: { PORT: String(port), PARACHUTE_BIND_HOST: '127.0.0.2', PARACHUTE_HOME: home },
    });
    expect(await hub.listening()).toBe(`http://127.0.0.2:${port}`);
    await ready(`http://127.0.0.2:${port}`);
    // Bound to 127.0.0.2 only: the same port on 127.0.0.1 is not this hub.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(statSync(join(home, 'hub.db')).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
  });

  test('--port and --host flags override the environment', async () => {
    const cwd = freshDir('flags');
    const port = freePort();
    const hub = start({
      cwd,
      env: { PORT: '1' },
      args: ['--port', String(port), '--host', '127.0.0.1'],
    });
    expect(await hub.listening()).toBe(`http://127.0.0.1:${port}`);
  });

  test('without PARACHUTE_HOME, state goes to ~/.parachute', async () => {
    const cwd = freshDir('default-home');
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOME: cwd,
      PORT: '0',
    };
    delete env.PARACHUTE_HOME;
    const proc = Bun.spawn([bin, 'serve'], { cwd, env, stdout: 'pipe', stderr: 'pipe' });
    try {
      const decoder = new TextDecoder();
      let out = '';
      const reader = proc.stdout.getReader();
      const url = await waitFor('the hub to be ready', async () => {
        out += decoder.decode((await reader.read()).value);
        return /ready in/.test(out) ? /listening on (\S+)/.exec(out)?.[1] : undefined;
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(statSync(join(cwd, '.parachute', 'hub.db')).isFile()).toBe(true);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  test('a port already in use exits non-zero, naming the port, its holder and how to find it', async () => {
    const holder = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response('still mine'),
    });
    try {
      const cwd = freshDir('port-in-use');
      const result = await runBinary(bin, ['serve'], {
        cwd,
        env: { PORT: String(holder.port), PARACHUTE_HOME: join(cwd, 'home') },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`127.0.0.1:${holder.port}`);
      expect(result.stderr).toContain('already in use');
      expect(result.stderr).toContain(`by pid ${process.pid}`);
      expect(result.stderr).toContain(`ss -ltnp 'sport = :${holder.port}'`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      // The holder was only reported, never disturbed.
      expect(await (await fetch(`http://127.0.0.1:${holder.port}/`)).text()).toBe('still mine');
    } finally {
      holder.stop(true);
    }
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('%s shuts down cleanly with exit 0', async (sig) => {
    const hub = start({ cwd: freshDir(sig) });
    const url = await hub.listening();
    await ready(url);
    expect(await hub.signal(sig)).toBe(0);
    expect(hub.stdout()).toContain(`${sig} received, shutting down`);
    expect(hub.stdout()).toContain('[hub] stopped');
    // The port is released: connecting now fails.
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    // The store was closed cleanly: WAL checkpointed, the database opens and is intact.
    const db = new Database(join(hub.home, 'hub.db'), { readonly: true });
    expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    db.close();
  });

  test('a file that is not a database is a clear startup error and is left untouched', async () => {
    const cwd = freshDir('corrupt');
    const home = join(cwd, 'home');
    mkdirSync(home);
    const garbage = 'this is not sqlite '.repeat(64);
    writeFileSync(join(home, 'hub.db'), garbage);
    const result = await runBinary(bin, ['serve'], {
      cwd,
      env: { PORT: '0', PARACHUTE_HOME: home },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(home, 'hub.db')} is not a readable SQLite database`);
    expect(result.stderr).toContain('parachute import');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(join(home, 'hub.db'), 'utf8')).toBe(garbage);
  });

  test('a PARACHUTE_HOME that cannot be a folder is a clear startup error', async () => {
    const cwd = freshDir('home-is-file');
    const home = join(cwd, 'not-a-dir');
    writeFileSync(home, 'x');
    const result = await runBinary(bin, ['serve'], {
      cwd,
      env: { PORT: '0', PARACHUTE_HOME: join(home, 'sub') },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('as PARACHUTE_HOME');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('health and readiness', () => {
  test('GET /health answers {status, version, db, modules}', async () => {
    const hub = start({ cwd: freshDir('health') });
    const url = await hub.listening();
    await ready(url);
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // Probes are answered before the router, with the headers of every hub response.
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${url}/health`, { method: 'HEAD' })).status).toBe(200);
    const readiness = await fetch(`${url}/api/ready`);
    expect(readiness.status).toBe(200);
    expect(readiness.headers.get('cache-control')).toBe('no-store');
    expect(await readiness.json()).toEqual({ status: 'ready' });
    const body = await res.json();
    const version = (await runBinary(bin, ['--version'])).stdout.split(' ')[1];
    expect(body).toEqual({ status: 'ok', version, db: 'ok', modules: { running: 0, total: 0 } });
  });

  test('/api/ready is 503 while boot waits on a locked database, /health is 200 throughout', async () => {
    const cwd = freshDir('locked');
    const home = join(cwd, 'home');
    mkdirSync(home);
    // Another process (a backup, a second hub) holds hub.db exclusively.
    const other = new Database(join(home, 'hub.db'), { create: true });
    other.exec(
      'PRAGMA journal_mode = DELETE; CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);',
    );
    const hub = start({ cwd, env: { PARACHUTE_HOME: home } });
    const url = await hub.listening();
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', db: 'opening' });
    const notReady = await fetch(`${url}/api/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${url}/admin/`)).status).toBe(503);
    // A browser gets a page that says so and reloads itself; an API client, JSON.
    const page = await fetch(`${url}/admin/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toStartWith('text/html');
    const html = await page.text();
    expect(html).toContain('The hub is starting');
    expect(html).toContain('http-equiv="refresh"');
    const api = await fetch(`${url}/api/users`);
    expect(await api.json()).toMatchObject({ error: 'starting' });
    other.exec('COMMIT');
    other.close();
    await ready(url);
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ db: 'ok' });
  }, 15_000);

  test('a database locked for longer than the boot lock wait (10 s) is a clear error, not a hang', async () => {
    const cwd = freshDir('locked-long');
    const home = join(cwd, 'home');
    mkdirSync(home);
    const other = new Database(join(home, 'hub.db'), { create: true });
    other.exec(
      'PRAGMA journal_mode = DELETE; CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);',
    );
    try {
      const result = await runBinary(bin, ['serve'], {
        cwd,
        env: { PORT: '0', PARACHUTE_HOME: home },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is locked by another process');
      expect(result.stderr).toContain('Another parachute may be running');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  }, 20_000);
});
