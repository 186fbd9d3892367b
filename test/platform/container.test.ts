/**
 * The container image (deploy.md, "Containers"; issue 17 point 6), built from
 * the repository's Dockerfile with podman and run as Fly or Render would run
 * it: as the image's user, its entrypoint and command, its environment, a
 * volume at /parachute. See test/helpers/container-image.ts for how, on a
 * machine with no Docker engine and no registry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../bench/lib.ts';
import { ready, runBinary, waitFor } from '../helpers/binary.ts';
import {
  BASE_TAG,
  Container,
  IMAGE_TAG,
  type ImageFacts,
  Podman,
} from '../helpers/container-image.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { finishOperation, moduleNamed, operatorClient, running, SEED } from '../helpers/modules.ts';

const REPO = resolve(import.meta.dir, '../..');

/** The image's user: uid and gid 1000 (Dockerfile). */
const UID = 1000;

let podman: Podman;
let image: ImageFacts;
let rootfs: string;
const started: Container[] = [];

beforeAll(async () => {
  podman = new Podman();
  await podman.importBase();
  const t0 = performance.now();
  await podman.build();
  console.log(`[container] podman build: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  image = await podman.inspect(IMAGE_TAG);
  rootfs = await podman.mount(IMAGE_TAG);
}, 600_000);

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => undefined);
  await podman?.remove();
});

/** A fresh volume folder, owned by the image's user as Fly and Docker hand it over. */
async function volume(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parachute-volume-'));
  chownSync(dir, UID, UID);
  return dir;
}

/** Starts the image on a free port with the volume; resolves once /health answers. */
async function start(vol: string, env: Record<string, string> = {}) {
  const port = freePort();
  const container = Container.start(rootfs, image, {
    volume: vol,
    env: { ...SEED, PORT: String(port), ...env },
  });
  started.push(container);
  const url = `http://127.0.0.1:${port}`;
  const health = await container.healthy(url);
  // /health answers while the hub boots; the operator token exists once it is ready.
  await ready(url);
  return { container, url, health, call: operatorClient(url, vol) };
}

/** Host pids of the direct children of `pid`, with their uid and state (/proc). */
function childrenOf(pid: number): { pid: number; comm: string; state: string; uid: number }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== pid) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      found.push({ pid: Number(entry), comm, state: state ?? '', uid });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * The `good` fixture packed with a free port as its preferred one. The
 * container shares the host's network, where other test runs start the
 * fixture on its usual port (1970): a module that lost that race would crash
 * while the other run's copy answered its health checks.
 */
async function goodOnFreePort(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parachute-fixture-'));
  const pkg = join(dir, 'package');
  await cp(fixtureDir('good'), pkg, { recursive: true });
  const manifestPath = join(pkg, '.parachute/module.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  await Bun.write(manifestPath, JSON.stringify({ ...manifest, port: freePort() }, null, 2));
  const bun = join(REPO, 'node_modules/.bin/bun');
  const packed = await runBinary(bun, ['pm', 'pack', '--destination', dir, '--ignore-scripts'], {
    cwd: pkg,
  });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (packed.code !== 0 || !tgz) throw new Error(`bun pm pack failed: ${packed.stderr}`);
  return join(dir, tgz);
}

describe('the container image', () => {
  test('runs as a non-root user owning /parachute, with the platform env, tini and parachute serve', async () => {
    const config = image.Config;
    expect(config.User).toBe(`${UID}:${UID}`);
    expect(config.WorkingDir).toBe('/parachute');
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/parachute']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['1939/tcp']);
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '-s', '--']);
    expect(config.Cmd).toEqual(['parachute', 'serve']);
    const env = Object.fromEntries((config.Env ?? []).map((e) => e.split(/=(.*)/s).slice(0, 2)));
    expect(env).toMatchObject({
      PARACHUTE_HOME: '/parachute',
      PARACHUTE_BIND_HOST: '0.0.0.0',
      PORT: '1939',
      // Temp files and the bun cache on the volume, beside the modules they install into.
      TMPDIR: '/parachute/tmp',
      BUN_INSTALL_CACHE_DIR: '/parachute/cache/bun',
    });
    expect(env.PATH?.split(':')).toContain('/usr/local/bin');

    // The binary belongs to root: the hub (uid 1000) cannot replace its own image.
    const binary = statSync(join(rootfs, 'usr/local/bin/parachute'));
    expect(binary.uid).toBe(0);
    expect(binary.mode & 0o7777).toBe(0o755);
    expect(statSync(join(rootfs, 'usr/bin/tini')).isFile()).toBe(true);
    const home = statSync(join(rootfs, 'parachute'));
    expect([home.uid, home.gid]).toEqual([UID, UID]);
    const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toMatch(new RegExp(`^parachute:x:${UID}:${UID}:[^:]*:/parachute:`, 'm'));

    const baseSize = (await podman.inspect(BASE_TAG)).Size;
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const added = image.Size - baseSize;
    console.log(
      `[container] image ${mb(image.Size)} = base ${mb(baseSize)} + ${mb(added)} added (binary ${mb(binary.size)})`,
    );
    // What the Dockerfile adds is the binary plus tini and CA certificates, no package caches.
    expect(added - binary.size).toBeLessThan(15e6);
  });

  test('serves /health as the image user; a module installs onto the volume and survives a restart', async () => {
    const vol = await volume();
    const first = await start(vol);
    expect(first.health).toMatchObject({ status: 'ok', db: 'ok' });

    // PID 1 is tini; the hub is its child and runs as the image's user, not root.
    const [init] = childrenOf(first.container.pid);
    expect(init?.comm).toBe('tini');
    const hub = childrenOf(init?.pid ?? -1).find((p) => p.comm === 'parachute');
    expect(hub?.uid).toBe(UID);

    // Uploaded as a remote operator would (no shell on a platform's machine).
    const tgz = await goodOnFreePort();
    const token = readFileSync(join(vol, 'operator.token'), 'utf8').trim();
    const upload = await fetch(`${first.url}/api/modules/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
      body: Bun.file(tgz),
    });
    expect(upload.status).toBe(202);
    const op = await finishOperation(first.call, { json: await upload.json() });
    expect(op.state).toBe('succeeded');
    const module = await running(first.call, 'fx-good');
    expect(module.version).toBe('1.0.0');

    // Installed onto the volume, owned by the image's user; the bun cache and TMPDIR there too.
    const installed = join(vol, 'modules/node_modules/parachute-fixture-good');
    expect(statSync(join(installed, 'package.json')).uid).toBe(UID);
    expect(readdirSync(join(vol, 'cache/bun')).length).toBeGreaterThan(0);
    expect(statSync(join(vol, 'tmp')).uid).toBe(UID);
    // The module runs as the image's user too.
    const moduleProc = childrenOf(hub?.pid ?? -1).filter((p) => p.state !== 'Z');
    expect(moduleProc.length).toBeGreaterThan(0);
    for (const p of moduleProc) expect(p.uid).toBe(UID);
    expect((await fetch(`${first.url}/fx-good/health`)).status).toBe(200);

    // A platform's stop: SIGTERM to PID 1, forwarded by tini; the hub stops its module and exits 0.
    expect(await first.container.stop()).toBe(0);
    expect(first.container.log).toContain('[hub] stopped');

    // A new container from the same image and volume: the module is back by itself.
    const second = await start(vol);
    const back = await running(second.call, 'fx-good');
    expect(back.version).toBe('1.0.0');
    expect((await fetch(`${second.url}/fx-good/health`)).status).toBe(200);
    expect((await moduleNamed(second.call, 'fx-good'))?.restarts).toBe(0);
    expect(await second.container.stop()).toBe(0);
  }, 180_000);

  test('a volume the image user cannot write stops the hub with what to chown, not a lock error', async () => {
    // What a bind mount of a root-owned folder (or a platform mounting for root) hands over.
    const rootOwned = await mkdtemp(join(tmpdir(), 'parachute-volume-'));
    chmodSync(rootOwned, 0o755);
    const container = Container.start(rootfs, image, {
      volume: rootOwned,
      env: { ...SEED, PORT: String(freePort()) },
    });
    started.push(container);
    const code = await waitFor('the hub to give up', () => container.exitCode ?? undefined, 30_000);
    expect(code).not.toBe(0);
    expect(container.log).toContain(
      '/parachute (PARACHUTE_HOME) is not writable by this user (uid 1000)',
    );
    expect(container.log).toContain('chown 1000:1000');
    expect(readdirSync(rootOwned)).toEqual([]);
  }, 60_000);

  test('BINARY picks another build of the binary (a Linux one built on a Mac)', async () => {
    // Named as `bun run build.ts --release` names the Linux x64 build; a link to this build.
    const built = join(REPO, 'dist/parachute');
    const linux = join(REPO, 'dist/parachute-linux-x64');
    const made = !existsSync(linux);
    if (made) linkSync(built, linux);
    try {
      await podman.build('localhost/parachute:binary-arg', { BINARY: 'dist/parachute-linux-x64' });
      const other = await podman.mount('localhost/parachute:binary-arg');
      const copied = statSync(join(other, 'usr/local/bin/parachute'));
      expect(copied.size).toBe(statSync(linux).size);
      expect(copied.mode & 0o7777).toBe(0o755);
    } finally {
      if (made) rmSync(linux, { force: true });
      await podman.removeImage('localhost/parachute:binary-arg');
    }
  }, 300_000);

  test('tini reaps orphans re-parented to PID 1, which the hub would leave as zombies', async () => {
    const { container } = await start(await volume());
    const [init] = childrenOf(container.pid);
    const hub = childrenOf(init?.pid ?? -1).find((p) => p.comm === 'parachute');
    if (!init || !hub) throw new Error('no tini or hub in the container');
    // A process that forks a short sleeper and exits at once, inside the
    // container's pid namespace: the sleeper is orphaned onto PID 1.
    const made = Bun.spawnSync([
      'nsenter',
      '-t',
      String(hub.pid),
      '-p',
      '-m',
      '-S',
      String(UID),
      '-G',
      String(UID),
      'sh',
      '-c',
      // Its output away from our pipe, or spawnSync would wait for the sleeper too.
      '(sleep 2 >/dev/null 2>&1 &) ; exit 0',
    ]);
    expect(made.exitCode).toBe(0);
    // Adopted by tini...
    await waitFor('the sleeper to be adopted by PID 1', () =>
      childrenOf(init.pid).some((p) => p.comm === 'sleep') ? true : undefined,
    );
    // ...and, once it exits, reaped: no zombie left under PID 1.
    await waitFor(
      'the orphan to be reaped',
      () => (childrenOf(init.pid).some((p) => p.comm === 'sleep') ? undefined : true),
      10_000,
    );
    expect(await container.stop()).toBe(0);
  }, 120_000);

  test('the hub in the image does not pretend to upgrade itself: it says to redeploy', async () => {
    const { call, container } = await start(await volume());
    const res = await call('POST', '/api/hub/upgrade', {});
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ error: 'cannot_upgrade' });
    expect(String((res.json as { hint: string }).hint)).toContain('Redeploy from your platform');
    const page = await call('GET', '/api/hub/upgrade');
    expect(page.json).toMatchObject({ can_upgrade: false });
    await container.stop();
  });

  test('on Fly and on Render the hub in the image reports its platform, region and public origin', async () => {
    const fly = await start(await volume(), { FLY_APP_NAME: 'x', FLY_REGION: 'iad' });
    const onFly = await fly.call('GET', '/api/hub');
    expect(onFly.status).toBe(200);
    expect(onFly.json).toMatchObject({
      platform: 'fly',
      region: 'iad',
      origin: 'https://x.fly.dev',
      origin_source: 'FLY_APP_NAME',
      home: '/parachute',
    });
    // The issuer clients see is the public origin too.
    const flyMeta = await fetch(`${fly.url}/.well-known/oauth-authorization-server`);
    expect(((await flyMeta.json()) as { issuer: string }).issuer).toBe('https://x.fly.dev');
    expect(await fly.container.stop()).toBe(0);

    const render = await start(await volume(), {
      RENDER: 'true',
      RENDER_EXTERNAL_URL: 'https://y.onrender.com',
      RENDER_GIT_COMMIT: 'abc1234',
    });
    const onRender = await render.call('GET', '/api/hub');
    expect(onRender.status).toBe(200);
    expect(onRender.json).toMatchObject({
      platform: 'render',
      region: null,
      origin: 'https://y.onrender.com',
      origin_source: 'RENDER_EXTERNAL_URL',
    });
    expect(await render.container.stop()).toBe(0);
  }, 120_000);
});
