import { describe, expect, test } from 'bun:test';
import { trustedProxy } from './forwarded.ts';

describe('trusted proxies', () => {
  test('only listed CIDRs are trusted; none by default', () => {
    const trust = trustedProxy({ PARACHUTE_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7, ::1' });
    expect(trust('10.2.3.4')).toBe(true);
    expect(trust('::ffff:10.2.3.4')).toBe(true);
    expect(trust('192.168.1.7')).toBe(true);
    expect(trust('192.168.1.8')).toBe(false);
    expect(trust('::1')).toBe(true);
    expect(trust('11.0.0.1')).toBe(false);
    expect(trustedProxy({})('127.0.0.1')).toBe(false);
    expect(trustedProxy({ FLY_APP_NAME: 'x' })('1.2.3.4')).toBe(true);
  });
});
