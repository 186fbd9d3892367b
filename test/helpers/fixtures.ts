import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../bench/lib.ts';
import { portIsFree } from '../../src/modules/ports.ts';
import { runBinary } from './binary.ts';

const MODULES = resolve(import.meta.dir, '../fixtures/modules');
// The project's own Bun, so packing does not depend on a Bun on the host PATH.
const BUN = resolve(import.meta.dir, '../../node_modules/.bin/bun');

/** Fixture module folders under test/fixtures/modules (see its README.md). */
export const FIXTURES = [
  'good',
  'crash',
  'never-binds',
  'late-bind',
  'sh-wrapped',
  'ignores-sigterm',
  'flood',
  'mcp',
  'vault',
  'evil',
  'ui',
  'bad-manifest',
  'hosted',
  'scribe',
  'surface',
  'ledger',
  'stale-writer',
] as const;

export type Fixture = (typeof FIXTURES)[number];

/** The fields of .parachute/module.json the tests rely on; anything else is kept as-is. */
export interface FixtureManifest {
  name: string;
  manifestName: string;
  port: number;
  paths: string[];
  health: string;
  startCmd?: string[];
  displayName?: string;
  tagline?: string;
  [key: string]: unknown;
}

/** Absolute path of a fixture's package folder. */
export function fixtureDir(dir: string): string {
  return join(MODULES, dir);
}

// Ports handed out in this process, so no two callers share one.
const given = new Set<number>();

/**
 * A loopback port free right now that no other caller in this test process
 * has been given: for a module's `port` (in a manifest given at install, or a
 * services.json row something listens on), never a fixed number, so test
 * runs side by side on one machine do not take each other's ports.
 */
export function unusedPort(): number {
  for (;;) {
    const port = freePort();
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

/**
 * The parsed .parachute/module.json of a fixture, its numeric `port`
 * replaced by a port of its own (as packFixture and copyFixture do).
 */
export function fixtureManifest(dir: string): FixtureManifest {
  return withPort(readManifest(fixtureDir(dir)), unusedPort());
}

function readManifest(folder: string): FixtureManifest {
  return JSON.parse(readFileSync(join(folder, '.parachute/module.json'), 'utf8'));
}

/**
 * The manifest with `port` replaced. A port that is not a number (the
 * bad-manifest fixture's "1981") is what its test checks, so it is kept.
 */
function withPort(manifest: FixtureManifest, port: number): FixtureManifest {
  return typeof manifest.port === 'number' ? { ...manifest, port } : manifest;
}

/**
 * Copies a fixture's package folder to `dest` with its module.json `port`
 * rewritten to a port of its own, and returns that port: for a test that
 * installs from a folder (to change the package and upgrade it).
 */
export function copyFixture(dir: string, dest: string): number {
  cpSync(fixtureDir(dir), dest, { recursive: true });
  const path = join(dest, '.parachute/module.json');
  const port = unusedPort();
  writeFileSync(path, `${JSON.stringify(withPort(readManifest(dest), port), null, 2)}\n`);
  return port;
}

interface Packed {
  tgz: string;
  port: number;
}

// Promises, not results, so concurrent callers share one pack.
const packed = new Map<string, Promise<Packed>>();
// One fresh temp folder per test run. It is left behind on purpose: bun test fires
// no exit hook, and a hub under test may still read a tarball until the very end.
let packRoot: Promise<string> | undefined;

/**
 * Packs a fixture to a .tgz in a temp folder and returns its absolute path.
 *
 * What is packed is a copy (copyFixture) whose module.json `port` is a free
 * port, not the number in the repository: two test runs at once (two
 * engineers, parallel CI jobs) would otherwise both run the module on that
 * one port. The tarball is reused while its port is free; once something
 * listens there (this fixture under a hub of an earlier test, or another
 * process), the next call packs it again with a new port, since a hub that
 * finds a module's port taken at install falls back to the fixed range
 * 1940-1949, which every run on the machine shares.
 */
export async function packFixture(dir: string): Promise<string> {
  const pending = packed.get(dir);
  const last = await pending?.catch(() => undefined);
  // Another caller replaced it while this one waited: decide again on theirs.
  if (packed.get(dir) !== pending) return packFixture(dir);
  if (last && portIsFree(last.port)) return last.tgz;
  const next = pack(dir);
  packed.set(dir, next);
  // A failed pack is not kept, so a later call tries again.
  next.catch(() => {
    if (packed.get(dir) === next) packed.delete(dir);
  });
  return (await next).tgz;
}

/**
/**
 * The port in the module.json of the tarball packFixture(dir) last returned.
 * The hub gives a module another port when that one is taken at install, so
 * a test that needs the port a module runs on reads it from the modules API.
 */
export async function fixturePort(dir: string): Promise<number> {
  const last = packed.get(dir);
  if (!last) throw new Error(`fixture ${dir} has not been packed: call packFixture first`);
  return (await last).port;
}

/**
 * A copy of a fixture's folder (copyFixture: a port of its own) whose
 * package.json says `version` (an upgrade's newer version), in a fresh temp
 * folder or over `into`.
 */
export async function fixtureAt(dir: string, version: string, into?: string): Promise<string> {
  packRoot ??= mkdtemp(join(tmpdir(), 'parachute-fixtures-'));
  const folder = into ?? (await mkdtemp(join(await packRoot, `${dir}-${version}-src-`)));
  copyFixture(dir, folder);
  const path = join(folder, 'package.json');
  const pkg = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
  return folder;
}

/**
 * A fixture packed at `version` (fixtureAt, then `bun pm pack`), after
 * `edit` changed its copy if given: the .tgz's path.
 */
export async function packFixtureAt(
  dir: string,
  version: string,
  edit?: (folder: string) => void,
): Promise<string> {
  const folder = await fixtureAt(dir, version);
  edit?.(folder);
  return packFolder(`${dir}-${version}`, folder);
}

async function pack(dir: string): Promise<Packed> {
  packRoot ??= mkdtemp(join(tmpdir(), 'parachute-fixtures-'));
  const source = await mkdtemp(join(await packRoot, `${dir}-src-`));
  const port = copyFixture(dir, source);
  return { tgz: await packFolder(dir, source), port };
}

/** `bun pm pack` of a package folder into a fresh temp folder: the .tgz's path. */
async function packFolder(name: string, folder: string): Promise<string> {
  packRoot ??= mkdtemp(join(tmpdir(), 'parachute-fixtures-'));
  // A folder per attempt, so a retry never sees a half-written tarball.
  const dest = await mkdtemp(join(await packRoot, `${name}-`));
  const { code, stdout, stderr } = await runBinary(
    BUN,
    ['pm', 'pack', '--destination', dest, '--ignore-scripts'],
    { cwd: folder },
  );
  // The folder is fresh, so its only .tgz is ours, whatever name bun gave it.
  const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (code !== 0 || !tgz) {
    throw new Error(`bun pm pack of fixture ${name} failed (exit ${code}):\n${stdout}${stderr}`);
  }
  return join(dest, tgz);
}

/**
 * A tarball served on loopback that is held back until `release()`: an
 * install of its URL runs (its `bun add` waiting for the download) for as
 * long as the test wants, so what happens meanwhile is certain, not timing.
 */
export async function heldTarball(fixture: string) {
  const bytes = await Bun.file(await packFixture(fixture)).arrayBuffer();
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let requested = () => {};
  const asked = new Promise<void>((resolve) => {
    requested = resolve;
  });
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch() {
      requested();
      await released;
      return new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/${fixture}.tgz`, asked, release, server };
}
