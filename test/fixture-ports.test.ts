// The fixture modules' manifests name fixed ports (1970...); tests must never
// run a module on one, or two test runs on one machine take each other's
// ports. These pin what test/helpers/fixtures.ts does about it.
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portIsFree } from '../src/modules/ports.ts';
import { runBinary } from './helpers/binary.ts';
import { copyFixture, FIXTURES, fixtureDir, fixturePort, packFixture } from './helpers/fixtures.ts';

/** The .parachute/module.json inside a packed fixture. */
async function packedManifest(tgz: string): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await runBinary('tar', [
    '-xzOf',
    tgz,
    'package/.parachute/module.json',
  ]);
  if (code !== 0) throw new Error(`tar -xzOf ${tgz} failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout);
}

const repoPort = (dir: string) =>
  JSON.parse(readFileSync(join(fixtureDir(dir), '.parachute/module.json'), 'utf8')).port;

describe('fixture module ports', () => {
  test('each packed fixture carries a free port of its own, not the one in the repository', async () => {
    const ports = new Map<string, unknown>();
    for (const dir of FIXTURES.filter((d) => d !== 'bad-manifest')) {
      const manifest = await packedManifest(await packFixture(dir));
      expect(manifest.port).toBe(await fixturePort(dir));
      expect(manifest.port).not.toBe(repoPort(dir));
      expect(portIsFree(manifest.port as number)).toBe(true);
      ports.set(dir, manifest.port);
    }
    expect(new Set(ports.values()).size).toBe(ports.size);
  });

  test('bad-manifest keeps its port as the string its test expects', async () => {
    const manifest = await packedManifest(await packFixture('bad-manifest'));
    expect(manifest.port).toBe('1981');
  });

  test('the same tarball while its port is free; a new one with a new port once something holds it', async () => {
    const first = await packFixture('good');
    expect(await packFixture('good')).toBe(first);
    const port = await fixturePort('good');
    // As a hub of an earlier test (or another test run) running fx-good would.
    const holder = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } });
    try {
      const again = await packFixture('good');
      expect(again).not.toBe(first);
      const manifest = await packedManifest(again);
      expect(manifest.port).not.toBe(port);
      expect(portIsFree(manifest.port as number)).toBe(true);
    } finally {
      holder.stop(true);
    }
  });

  test('a copied fixture folder gets a free port of its own in its module.json', () => {
    const root = mkdtempSync(join(tmpdir(), 'fixture-copy-'));
    const a = copyFixture('good', join(root, 'a'));
    const b = copyFixture('good', join(root, 'b'));
    expect(a).not.toBe(b);
    for (const [folder, port] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const manifest = JSON.parse(
        readFileSync(join(root, folder, '.parachute/module.json'), 'utf8'),
      );
      expect(manifest.port).toBe(port);
      expect(manifest.port).not.toBe(repoPort('good'));
      expect(portIsFree(port)).toBe(true);
      // The rest of the package is the fixture's own.
      expect(readFileSync(join(root, folder, 'bin/server.js'), 'utf8')).toBe(
        readFileSync(join(fixtureDir('good'), 'bin/server.js'), 'utf8'),
      );
    }
  });
});
