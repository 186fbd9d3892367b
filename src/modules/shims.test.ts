import { expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureShims } from './shims.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'parachute-shimtest-'));

test('bun and bunx always run the hub binary as Bun; node only when the host has none', () => {
  const noNode = join(fresh(), 'bin');
  ensureShims(noNode, '/opt/parachute/parachute', join(fresh(), 'empty-path'));
  for (const name of ['bun', 'bunx', 'node']) {
    const path = join(noNode, name);
    expect(statSync(path).mode & 0o111).toBe(0o111);
    expect(readFileSync(path, 'utf8')).toContain('BUN_BE_BUN=1 exec "/opt/parachute/parachute"');
  }
  expect(readFileSync(join(noNode, 'bunx'), 'utf8')).toContain('x "$@"');

  // A host whose PATH has a node keeps its own.
  const hostBin = fresh();
  symlinkSync('/bin/sh', join(hostBin, 'node'));
  const withNode = join(fresh(), 'bin');
  ensureShims(withNode, '/opt/parachute/parachute', hostBin);
  expect(existsSync(join(withNode, 'bun'))).toBe(true);
  expect(existsSync(join(withNode, 'node'))).toBe(false);
});
