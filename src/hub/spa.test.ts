import { describe, expect, test } from 'bun:test';
import { acceptedEncodings } from './spa.ts';

describe('acceptedEncodings', () => {
  test.each([
    ['gzip, deflate, br, zstd', ['gzip', 'deflate', 'br', 'zstd']],
    ['br;q=0, gzip;q=0.5', ['gzip']],
    ['gzip;q=0.000', []],
    ['', []],
    ['identity', ['identity']],
  ])('%p', (header, expected) => {
    expect([...acceptedEncodings(header)].sort()).toEqual([...expected].sort());
  });
});
