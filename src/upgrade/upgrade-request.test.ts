import { afterEach, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upgradeRequestFile } from '../platform/units/upgrade-trigger.ts';
import { takeRequest } from './upgrade-request.ts';

// The request is written by the hub's unprivileged account and read by root:
// whatever that account leaves there must not make root read elsewhere or act on junk.
const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parachute-request-'));
  homes.push(dir);
  return dir;
}

test('a well-formed request is taken and removed', () => {
  const h = home();
  const id = crypto.randomUUID();
  writeFileSync(upgradeRequestFile(h), JSON.stringify({ id, to: '1.2.3' }));
  expect(takeRequest(h)).toEqual({ id, to: '1.2.3' });
  expect(existsSync(upgradeRequestFile(h))).toBe(false);
});

test('a symlink to another file is not followed, is removed, and nothing of the target is said', () => {
  const h = home();
  const secret = join(h, 'secret.json');
  writeFileSync(secret, JSON.stringify({ id: crypto.randomUUID(), note: 'TOP-SECRET' }));
  symlinkSync(secret, upgradeRequestFile(h));
  let message = '';
  try {
    takeRequest(h);
  } catch (error) {
    message = String((error as Error).message);
  }
  expect(message).toContain('is not an upgrade request');
  expect(message).not.toContain('TOP-SECRET');
  expect(existsSync(upgradeRequestFile(h))).toBe(false);
  expect(existsSync(secret)).toBe(true);
});

test('junk, a bad id or a version with shell characters is refused', () => {
  for (const body of [
    'not json',
    JSON.stringify({ id: 'x', to: '1.0.0' }),
    JSON.stringify({ id: crypto.randomUUID(), to: '1.0.0; rm -rf /' }),
    JSON.stringify({ id: crypto.randomUUID(), to: 7 }),
  ]) {
    const h = home();
    writeFileSync(upgradeRequestFile(h), body);
    expect(() => takeRequest(h)).toThrow('is not an upgrade request');
    expect(existsSync(upgradeRequestFile(h))).toBe(false);
  }
});
