import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/** The parsed .parachute/module.json of a fixture. */
export function fixtureManifest(dir: string): FixtureManifest {
  return JSON.parse(readFileSync(join(fixtureDir(dir), '.parachute/module.json'), 'utf8'));
}

// Promises, not paths, so concurrent callers share one pack.
const packed = new Map<string, Promise<string>>();
// One fresh temp folder per test run. It is left behind on purpose: bun test fires
// no exit hook, and a hub under test may still read a tarball until the very end.
let packRoot: Promise<string> | undefined;

/** Packs a fixture to a .tgz in a temp folder (once per process) and returns its absolute path. */
export function packFixture(dir: string): Promise<string> {
  let tgz = packed.get(dir);
  if (!tgz) {
    tgz = pack(dir);
    packed.set(dir, tgz);
    // A failed pack is not cached, so a later call tries again.
    tgz.catch(() => packed.delete(dir));
  }
  return tgz;
}

/**
 * A copy of a fixture's folder whose package.json says `version` (an
 * upgrade's newer version), in a fresh temp folder or over `into`.
 */
export async function fixtureAt(dir: string, version: string, into?: string): Promise<string> {
  packRoot ??= mkdtemp(join(tmpdir(), 'parachute-fixtures-'));
  const folder = into ?? (await mkdtemp(join(await packRoot, `${dir}-${version}-src-`)));
  cpSync(fixtureDir(dir), folder, { recursive: true });
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
  return pack(`${dir}-${version}`, folder);
}

async function pack(dir: string, folder = fixtureDir(dir)): Promise<string> {
  packRoot ??= mkdtemp(join(tmpdir(), 'parachute-fixtures-'));
  // A folder per attempt, so a retry never sees a half-written tarball.
  const dest = await mkdtemp(join(await packRoot, `${dir}-`));
  const { code, stdout, stderr } = await runBinary(
    BUN,
    ['pm', 'pack', '--destination', dest, '--ignore-scripts'],
    { cwd: folder },
  );
  // The folder is fresh, so its only .tgz is ours, whatever name bun gave it.
  const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (code !== 0 || !tgz) {
    throw new Error(`bun pm pack of fixture ${dir} failed (exit ${code}):\n${stdout}${stderr}`);
  }
  return join(dest, tgz);
}
