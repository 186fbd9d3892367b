import { expect, test } from 'bun:test';
import { drillText, formatBytes } from './backup-format.ts';

test('a restore drill reads as what it proved, in seconds or, when quick, milliseconds', () => {
  expect(drillText({ ok: true, ms: 2140, databases: 3, tables: 41, rows: 1204 })).toBe(
    'restored 3 databases, 41 tables, 1,204 rows in 2.1 s',
  );
  expect(drillText({ ok: true, ms: 38, databases: 1, tables: 1, rows: 1 })).toBe(
    'restored 1 database, 1 table, 1 row in 38 ms',
  );
});

test('sizes read in KB, MB or GB', () => {
  expect(formatBytes(11_500)).toBe('11 KB');
  expect(formatBytes(3 * 1024 * 1024 + 200_000)).toBe('3.2 MB');
  expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GB');
});
