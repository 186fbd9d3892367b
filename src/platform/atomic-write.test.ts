import { describe, expect, test } from 'bun:test';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';

const freshDir = () => mkdtempSync(join(tmpdir(), 'parachute-atomic-'));

describe('writeFileAtomic', () => {
  test('replaces the content and leaves no temp file behind', () => {
    const dir = freshDir();
    const file = join(dir, 'services.json');
    writeFileSync(file, 'old');
    writeFileAtomic(file, '{"services": []}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"services": []}\n');
    expect(readdirSync(dir)).toEqual(['services.json']);
  });

  test('creates the file with the requested mode', () => {
    const file = join(freshDir(), 'operator.token');
    writeFileAtomic(file, 'secret', { mode: 0o600 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('a failed write throws, removes its temp file and leaves the target intact', () => {
    // Renaming a file over a non-empty directory fails for every user, root included.
    const dir = freshDir();
    const target = join(dir, 'hub-state');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'precious');
    expect(() => writeFileAtomic(target, 'new')).toThrow();
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('precious');
    expect(readdirSync(dir)).toEqual(['hub-state']);
  });
});
