import { describe, expect, test } from 'bun:test';
import { type Mount, matchMount, sortMounts, upstreamPath } from './mounts.ts';

const mount = (prefix: string, stripPrefix = false): Mount => ({
  prefix,
  name: prefix,
  port: 1,
  stripPrefix,
  websocket: false,
  managed: true,
  uis: null,
  module: 'm',
});

describe('routing', () => {
  const mounts = sortMounts([mount('/vault'), mount('/vault/work', true), mount('/files', true)]);
  test.each([
    ['/vault/work/notes', '/vault/work'],
    ['/vault/work', '/vault/work'],
    ['/vault/workshop', '/vault'],
    ['/vault', '/vault'],
    ['/vaults', null],
    ['/admin', null],
  ])('%p → %p (longest prefix wins)', (path, prefix) => {
    expect(matchMount(mounts, path)?.prefix ?? null).toBe(prefix);
  });
  test('stripPrefix', () => {
    expect(upstreamPath(mount('/files', true), '/files/a/b')).toBe('/a/b');
    expect(upstreamPath(mount('/files', true), '/files')).toBe('/');
    expect(upstreamPath(mount('/vault'), '/vault/x')).toBe('/vault/x');
    // The query stays; the mount itself is the module's root.
    expect(upstreamPath(mount('/files', true), '/files?x=1')).toBe('/?x=1');
    expect(upstreamPath(mount('/files', true), '/files/a?x=/b')).toBe('/a?x=/b');
    expect(upstreamPath(mount('/vault'), '/vault?x=1')).toBe('/vault?x=1');
  });
});
