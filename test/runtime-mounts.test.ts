// The mount table follows services.json while the hub runs (modules.md
// section 7): a module that adds a mount to its own row is routable within a
// second, with its discovery entry and protected-resource metadata, without a
// restart; paths that would shadow a hub route or another row are refused.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  install,
  moduleNamed,
  type OperatorCall,
  operatorClient,
  running,
  SEED,
  trackHubs,
} from './helpers/modules.ts';

/** The fx-good fixture's services.json row name (its manifestName). */
const GOOD = 'parachute-fixture-good';
/** How soon a changed row must be served (modules.md section 7). */
const WITHIN_MS = 1000;

const hubs = trackHubs();
let url: string;
let home: string;
let call: OperatorCall;
let hubStderr: () => string;
let goodPid: number;

// A module the hub does not run (it registered itself), listed first in services.json.
const external = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: (req) => Response.json({ from: 'fx-ext', path: new URL(req.url).pathname }),
});
afterAll(() => external.stop(true));

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'parachute-runtime-mounts-'));
  writeServices({
    services: [
      { name: 'fx-ext', port: external.port, paths: ['/fx-ext'], health: '/', version: '1.0.0' },
    ],
  });
  const started = await freshHub(SEED, home);
  hubs.push(started.hub);
  url = started.url;
  hubStderr = started.hub.stderr;
  call = operatorClient(url, home);
  expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
  goodPid = (await running(call, 'fx-good')).pid as number;
}, 60_000);

type Doc = { services: ({ name: string; paths: string[] } & Record<string, unknown>)[] };

const servicesPath = () => join(home, 'services.json');
const readServices = () => JSON.parse(readFileSync(servicesPath(), 'utf8')) as Doc;

/** Replaces services.json the way modules do: write a temp file, rename it over. */
function writeServices(doc: Doc | string): void {
  const tmp = `${servicesPath()}.tmp-${process.pid}`;
  writeFileSync(tmp, typeof doc === 'string' ? doc : `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(tmp, servicesPath());
}

/** Adds `paths` to the row named `name`, as a module editing its own row would. */
function addPaths(name: string, ...paths: string[]): void {
  const doc = readServices();
  const row = doc.services.find((r) => r.name === name);
  if (!row) throw new Error(`no row ${name}`);
  row.paths.push(...paths);
  writeServices(doc);
}

/** The fx-good /echo answer at `mount`, or null when something else answered. */
async function echoAt(mount: string): Promise<string | null> {
  const res = await fetch(`${url}${mount}/echo/hi`);
  const body = (await res.json().catch(() => null)) as { path?: string } | null;
  return res.status === 200 && body?.path === '/echo/hi' ? body.path : null;
}

async function discoveredPaths(): Promise<string[]> {
  const doc = (await (await fetch(`${url}/.well-known/parachute.json`)).json()) as {
    services: { path: string }[];
  };
  return doc.services.map((s) => s.path);
}

/** scopes_supported of the protected-resource metadata for `mount` (RFC 9728), or null. */
async function resourceScopes(mount: string): Promise<string[] | null> {
  const res = await fetch(`${url}/.well-known/oauth-protected-resource${mount}`);
  if (res.status !== 200) return null;
  return ((await res.json()) as { scopes_supported: string[] }).scopes_supported;
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('runtime mounts', () => {
  test('a mount a module adds to its own row is routed, discovered and described within a second, without a restart', async () => {
    expect(await echoAt('/fx-good-extra')).toBeNull();
    expect(await resourceScopes('/fx-good-extra')).toBeNull();

    addPaths(GOOD, '/fx-good-extra');
    await waitFor(
      '/fx-good-extra to be routed, discovered and described',
      async () => {
        const [echo, paths, scopes] = await Promise.all([
          echoAt('/fx-good-extra'),
          discoveredPaths(),
          resourceScopes('/fx-good-extra'),
        ]);
        return echo && paths.includes('/fx-good-extra') && scopes?.includes('fx-good:read')
          ? true
          : undefined;
      },
      WITHIN_MS,
    );
    expect(await echoAt('/fx-good')).toBe('/echo/hi');
    const good = await moduleNamed(call, 'fx-good');
    expect(good).toMatchObject({ state: 'running', pid: goodPid });
    expect(good?.paths).toEqual(['/fx-good', '/fx-good-extra']);
  });

  test('a row claiming hub paths is refused with a warning naming it; the hub still answers them', async () => {
    addPaths(GOOD, '/api', '/oauth', '/health', '/admin');
    await waitFor(
      'a warning for each hub path',
      () =>
        ['/api', '/oauth', '/health', '/admin'].every((p) =>
          hubStderr().includes(`row "${GOOD}": ${p} is reserved by the hub`),
        ) || undefined,
      WITHIN_MS,
    );

    const health = await fetch(`${url}/health`);
    expect(await health.json()).toMatchObject({ status: 'ok', db: 'ok' });
    const modules = await fetch(`${url}/api/modules`);
    expect(modules.status).toBe(401);
    expect(await modules.json()).toMatchObject({ error: expect.any(String) });
    const token = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=nonsense',
    });
    // The issuer's RFC 6749 error (no client_id, or no such grant), not the module's 404.
    expect([400, 401]).toContain(token.status);
    expect(await token.json()).toMatchObject({ error_description: expect.any(String) });
    const admin = await fetch(`${url}/admin/`);
    expect(admin.headers.get('content-type')).toContain('text/html');

    const paths = await discoveredPaths();
    for (const p of ['/api', '/oauth', '/health', '/admin']) expect(paths).not.toContain(p);
    expect((await moduleNamed(call, 'fx-good'))?.paths).toEqual(['/fx-good', '/fx-good-extra']);
  });

  test("a later row claiming another row's path does not take it over", async () => {
    addPaths(GOOD, '/fx-ext');
    const warning = `row "${GOOD}": /fx-ext is already mounted by "fx-ext"`;
    await waitFor(
      'a warning naming the row',
      () => hubStderr().includes(warning) || undefined,
      WITHIN_MS,
    );

    const res = await fetch(`${url}/fx-ext/x`);
    expect(await res.json()).toEqual({ from: 'fx-ext', path: '/fx-ext/x' });
    expect((await discoveredPaths()).filter((p) => p === '/fx-ext')).toHaveLength(1);
    // Rebuilt since the last test, and its warnings were not repeated.
    expect(count(hubStderr(), `row "${GOOD}": /api is reserved by the hub`)).toBe(1);
    expect(count(hubStderr(), warning)).toBe(1);
  });

  test('a broken services.json keeps the last good table; fixing it is picked up again', async () => {
    const good = readServices();
    writeServices('{"services": [');
    await waitFor(
      'a warning that services.json is broken',
      () => hubStderr().includes('services.json is not valid JSON') || undefined,
      WITHIN_MS,
    );
    expect(await echoAt('/fx-good-extra')).toBe('/echo/hi');
    expect(await discoveredPaths()).toContain('/fx-good-extra');

    const row = good.services.find((r) => r.name === GOOD);
    row?.paths.push('/fx-good-later');
    writeServices(good);
    await waitFor(
      '/fx-good-later to be routed',
      async () => (await echoAt('/fx-good-later')) ?? undefined,
      WITHIN_MS,
    );
    expect(count(hubStderr(), 'services.json is not valid JSON')).toBe(1);
    expect((await moduleNamed(call, 'fx-good'))?.pid).toBe(goodPid);
  });
});
