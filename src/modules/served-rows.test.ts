import { describe, expect, test } from 'bun:test';
import type { ServiceRow } from './schema.ts';
import { servedRows } from './served-rows.ts';

const row = (name: string, paths: string[]): ServiceRow => ({
  name,
  port: 2000 + name.length,
  paths,
  health: '/health',
  version: '1.0.0',
});

describe('servedRows', () => {
  test('keeps paths that touch nothing', () => {
    const rows = [row('a', ['/a', '/vault/one']), row('bb', ['/b', '/vault/two'])];
    expect(servedRows(rows)).toEqual({ rows, refused: [] });
  });

  test.each([
    '/',
    '/admin',
    '/api',
    '/api/x',
    '/oauth/',
    '/.well-known',
    '/health',
    '/login',
    '/vaults',
  ])('refuses the hub path %s, naming the row', (path) => {
    const { rows, refused } = servedRows([row('a', ['/a', path])]);
    expect(rows[0]?.paths).toEqual(['/a']);
    expect(refused).toEqual([
      expect.stringMatching(/^services\.json row "a": .*reserved by the hub/),
    ]);
    expect(refused[0]).toContain(path);
  });

  test('the first row in the file keeps a shared path; a path listed twice is mounted once', () => {
    const { rows, refused } = servedRows([row('a', ['/x']), row('bb', ['/x/', '/y', '/y'])]);
    expect(rows.map((r) => r.paths)).toEqual([['/x'], ['/y']]);
    expect(refused).toEqual([
      'services.json row "bb": /x/ is already mounted by "a"; not routed',
      'services.json row "bb": /y is already mounted by "bb"; not routed',
    ]);
  });

  test('paths under another mount are not a conflict: the longest match wins', () => {
    const rows = [row('a', ['/vault']), row('bb', ['/vault/work'])];
    expect(servedRows(rows).refused).toEqual([]);
  });
});
