import { expect, test } from 'bun:test';
import type { ModuleInfo } from './hub-client.ts';
import { formatUptime, moduleTable, truncate } from './status-table.ts';

test.each([
  [null, '-'],
  [0, '0s'],
  [12_400, '12s'],
  [5 * 60_000 + 59_000, '5m'],
  [(3 * 60 + 12) * 60_000, '3h12m'],
  [(2 * 24 + 4) * 3_600_000 + 59 * 60_000, '2d4h'],
])('uptime %p is %p', (ms, text) => {
  expect(formatUptime(ms)).toBe(text);
});

test('truncate keeps short text, cuts long text to the width with an ellipsis, and joins lines', () => {
  expect(truncate('port held', 60)).toBe('port held');
  expect(truncate('a\n  b', 60)).toBe('a b');
  expect(truncate('x'.repeat(80), 60)).toBe(`${'x'.repeat(59)}…`);
});

test('the table names modules by short name, pads columns, and shows the last error', () => {
  const base: ModuleInfo = {
    name: 'parachute-vault',
    module: 'vault',
    state: 'running',
    pid: 4242,
    port: 1940,
    uptimeMs: 75_000,
    restarts: 0,
    version: '1.2.3',
    lastError: null,
  };
  const table = moduleTable([
    base,
    {
      ...base,
      name: 'notes',
      module: null,
      state: 'crashed',
      pid: null,
      uptimeMs: null,
      restarts: 3,
      lastError: { reason: 'crashed', message: 'crashed 3 times in 60 s (exit 1)' },
    },
  ]);
  expect(table.split('\n')).toEqual([
    'NAME   STATE    PID   PORT  UPTIME  RESTARTS  VERSION  LAST ERROR',
    'vault  running  4242  1940  1m      0         1.2.3    -',
    'notes  crashed  -     1940  -       3         1.2.3    crashed 3 times in 60 s (exit 1)',
  ]);
});
