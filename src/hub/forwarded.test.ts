import { describe, expect, test } from 'bun:test';
import { clientAddressOf, trustedProxy } from './forwarded.ts';

/** The trust check for `list`, and the entries it reported as invalid. */
function trust(list: string, env: Record<string, string | undefined> = {}) {
  const invalid: { entry: string; why: string }[] = [];
  const check = trustedProxy({ ...env, PARACHUTE_TRUSTED_PROXIES: list }, (entry, why) =>
    invalid.push({ entry, why }),
  );
  return { check, invalid };
}

// [PARACHUTE_TRUSTED_PROXIES, peer address as Bun reports it, trusted?]
const rows: [string, string, boolean][] = [
  // IPv4, bare and IPv4-mapped (how a dual-stack socket reports IPv4 peers).
  ['10.0.0.0/8', '10.2.3.4', true],
  ['10.0.0.0/8', '::ffff:10.2.3.4', true],
  ['10.0.0.0/8', '::FFFF:a02:304', true],
  ['10.0.0.0/8', '11.0.0.1', false],
  ['10.0.0.0/8', '::ffff:11.0.0.1', false],
  ['192.168.1.7', '192.168.1.7', true],
  ['192.168.1.7', '192.168.1.8', false],
  ['192.168.1.7/32', '192.168.1.7', true],
  ['172.16.0.0/12', '172.31.255.255', true],
  ['172.16.0.0/12', '172.32.0.0', false],
  ['0.0.0.0/0', '203.0.113.9', true],
  ['0.0.0.0/0', '::ffff:203.0.113.9', true],
  ['0.0.0.0/0', '2001:db8::1', false],
  ['10.0.0.1/8', '10.9.9.9', true], // host bits are masked off, as in 10.0.0.0/8
  // An IPv4 range never matches the IPv6 address with the same low 32 bits.
  ['10.0.0.0/8', '::10.2.3.4', false],
  ['10.0.0.0/8', '64:ff9b::10.2.3.4', false],
  ['10.0.0.0/8', '2001:db8::ffff:10.2.3.4', false],
  // IPv6 single addresses.
  ['::1', '::1', true],
  ['::1', '::2', false],
  ['::1', '0:0:0:0:0:0:0:1', true],
  ['::1', '127.0.0.1', false],
  ['2001:db8::7', '2001:0DB8:0000:0000:0000:0000:0000:0007', true],
  ['2001:DB8:0:0::0007', '2001:db8::7', true],
  ['2001:db8::7', '2001:db8::7:0', false],
  ['fe80::1', 'fe80::1%eth0', true],
  ['fe80::1', 'fe80::1%25', true],
  ['fe80::1', 'fe80::2%eth0', false],
  // IPv6 prefixes at several lengths, either side of the boundary.
  ['::/0', '2001:db8::1', true],
  ['::/0', '::', true],
  ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['2001:db8::/32', '2001:db9::', false],
  ['2001:db8::/32', '2001:db7:ffff::', false],
  ['2001:db8::/33', '2001:db8:7fff::1', true],
  ['2001:db8::/33', '2001:db8:8000::1', false],
  ['2001:db8:0:80::/57', '2001:db8:0:ff:ffff::1', true],
  ['2001:db8:0:80::/57', '2001:db8:0:7f::1', false],
  ['2001:db8:0:80::/57', '2001:db8:0:100::', false],
  ['fd00::/8', 'fdab:cdef::1', true],
  ['fd00::/8', 'fc00::1', false],
  ['2001:db8::/64', '2001:db8::abcd:1', true],
  ['2001:db8::/64', '2001:db8:0:1::', false],
  ['2001:db8::8000:0:0:0/65', '2001:db8::ffff:1:2:3', true],
  ['2001:db8::8000:0:0:0/65', '2001:db8::7fff:1:2:3', false],
  ['2001:db8::/95', '2001:db8::1:ffff:ffff', true],
  ['2001:db8::/95', '2001:db8::2:0:0', false],
  ['2001:db8::1:0/113', '2001:db8::1:7fff', true],
  ['2001:db8::1:0/113', '2001:db8::1:8000', false],
  ['2001:db8::1/127', '2001:db8::', true],
  ['2001:db8::1/127', '2001:db8::1', true],
  ['2001:db8::1/127', '2001:db8::2', false],
  ['2001:db8::1/128', '2001:db8::1', true],
  ['2001:db8::1/128', '2001:db8::', false],
  ['2001:db8::/31', '2001:db9::', true],
  ['2001:db8::/31', '2001:dba::', false],
  // Embedded IPv4 in entries and in peers (RFC 4291 section 2.2, form 3).
  ['64:ff9b::/96', '64:ff9b::1.2.3.4', true],
  ['64:ff9b::/96', '64:ff9b::102:304', true],
  ['64:ff9b::/96', '64:ff9b:1::1.2.3.4', false],
  ['64:ff9b::1.2.3.4', '64:ff9b::102:304', true],
  ['64:ff9b::1.2.3.0/120', '64:ff9b::1.2.3.255', true],
  ['64:ff9b::1.2.3.0/120', '64:ff9b::1.2.4.0', false],
  // IPv4-mapped: an IPv4 peer is ::ffff:a.b.c.d in either spelling.
  ['::ffff:0:0/96', '203.0.113.7', true],
  ['::ffff:0:0/96', '::ffff:203.0.113.7', true],
  ['::ffff:0:0/96', '2001:db8::1', false],
  ['::ffff:0:0/96', '::203.0.113.7', false],
  ['::ffff:10.0.0.0/104', '10.200.0.1', true],
  ['::ffff:10.0.0.0/104', '11.0.0.1', false],
  ['::ffff:203.0.113.7', '203.0.113.7', true],
  ['::ffff:203.0.113.7', '203.0.113.8', false],
  ['::/0', '203.0.113.7', true],
  ['::/80', '203.0.113.7', true],
  ['::/96', '203.0.113.7', false],
  ['2001:db8::/32', '203.0.113.7', false],
  // Mixed lists: any entry may match; spaces around commas are fine.
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '10.1.1.1', true],
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '2001:db8:1::1', true],
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '::1', true],
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '::ffff:10.1.1.1', true],
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '2001:db9::1', false],
  ['10.0.0.0/8, 2001:db8::/32 ,::1', '192.168.0.1', false],
  // Nothing listed, or a peer that is not an address: nobody is trusted.
  ['', '127.0.0.1', false],
  ['', '::1', false],
  ['10.0.0.0/8', 'unknown', false],
  ['::/0', 'unknown', false],
  ['::/0', '', false],
  ['::/0', '::g', false],
  ['0.0.0.0/0', '1.2.3', false],
  ['0.0.0.0/0', '1.2.3.x', false],
  ['0.0.0.0/0', '1.2.3.4.5', false],
  ['::/0', '1:2:3:4:5:6:7:8:9', false],
];

describe('trusted proxies', () => {
  test.each(rows)('%p trusts %p: %p', (list, ip, expected) => {
    const { check, invalid } = trust(list);
    expect(invalid).toEqual([]);
    expect(check(ip)).toBe(expected);
  });

  test('unset trusts nobody; Fly and Render trust every peer', () => {
    expect(trustedProxy({})('127.0.0.1')).toBe(false);
    expect(trustedProxy({})('::1')).toBe(false);
    for (const env of [{ FLY_APP_NAME: 'x' }, { RENDER_EXTERNAL_URL: 'https://x.onrender.com' }]) {
      const { check, invalid } = trust('not-an-address', env);
      expect([check('1.2.3.4'), check('2001:db8::1'), check('::ffff:1.2.3.4')]).toEqual([
        true,
        true,
        true,
      ]);
      expect(invalid).toEqual([]);
    }
  });
});

// Each bad entry is reported once, names what would be valid, and trusts nobody.
const invalidEntries: [string, RegExp][] = [
  ['2001:db8::/129', /prefix length must be 0-128 for IPv6/],
  ['1.2.3.4/33', /prefix length must be 0-32 for IPv4/],
  ['10.0.0.1/', /prefix length must be 0-32/],
  ['10.0.0.0/-1', /prefix length/],
  ['10.0.0.0/8.0', /prefix length/],
  ['10.0.0.0/ 8', /prefix length/],
  ['::1/0x10', /prefix length/],
  ['10.0.0.0/8/8', /more than one '\/'/],
  ['::g', /not an IPv6 address/],
  ['1:2:3:4:5:6:7:8:9', /not an IPv6 address/],
  ['1:2:3:4:5:6:7', /not an IPv6 address/],
  ['1:2:3:4:5:6:7:8::', /not an IPv6 address/],
  ['1::2::3', /not an IPv6 address/],
  [':::1', /not an IPv6 address/],
  [':1::', /not an IPv6 address/],
  ['1:2:3:4:5:6:7:', /not an IPv6 address/],
  ['2001:db8::1:', /not an IPv6 address/],
  [':12:3:4:5:6:7:8', /not an IPv6 address/],
  ['2001:db8::1 10.0.0.1', /not an IPv6 address/], // a missing comma
  ['2001:db8::12345', /not an IPv6 address/],
  ['1.2.3.4::', /not an IPv6 address/],
  ['::1.2.3.4:5', /not an IPv6 address/],
  ['::1.2.3.256', /not an IPv6 address/],
  ['fe80::1%eth0', /zone id/],
  ['256.0.0.1', /not an IPv4 address/],
  ['1.2.3', /not an IPv4 address/],
  ['1.2.3.', /not an IPv4 address/],
  ['1..2.3', /not an IPv4 address/],
  ['10.0.0.x', /not an IPv4 address/],
  ['10.0.0.-1', /not an IPv4 address/],
  ['010.0.0.1', /not an IPv4 address/],
  ['1.2.3.4.5', /not an IPv4 address/],
  ['localhost', /not an IPv4 address/],
  ['*', /not an IPv4 address/],
];

describe('invalid entries', () => {
  test.each(invalidEntries)('%p is reported and ignored', (entry, why) => {
    const { check, invalid } = trust(`${entry}, 192.0.2.1`);
    expect(invalid.map((i) => i.entry)).toEqual([entry]);
    expect(invalid[0]?.why).toMatch(why);
    expect(invalid[0]?.why).toContain('such as 192.0.2.7, 10.0.0.0/8, ::1 or 2001:db8::/32');
    // The valid entry beside it still works; the bad one is not kept as a string.
    expect(check('192.0.2.1')).toBe(true);
    expect(check(entry)).toBe(false);
    for (const ip of ['1.2.3.4', '10.0.0.1', '2001:db8::1', '::1', 'fe80::1', '0.0.0.0'])
      expect(check(ip)).toBe(false);
  });

  test('empty pieces between commas are reported, each once', () => {
    const { check, invalid } = trust('10.0.0.0/8,, ::1 , ,');
    expect(invalid.map((i) => i.entry)).toEqual(['', '', '']);
    expect(invalid[0]?.why).toMatch(/empty entry/);
    expect([check('10.1.2.3'), check('::1'), check('::2')]).toEqual([true, true, false]);
  });

  test('a list of only bad entries trusts nobody', () => {
    const { check, invalid } = trust('2001:db8::/129, 0.0.0.0/33');
    expect(invalid).toHaveLength(2);
    expect([check('2001:db8::1'), check('1.2.3.4'), check('::ffff:1.2.3.4')]).toEqual([
      false,
      false,
      false,
    ]);
  });

  test('whitespace-only is the same as unset, and reports nothing', () => {
    const { check, invalid } = trust('  ');
    expect(invalid).toEqual([]);
    expect(check('::1')).toBe(false);
  });
});

describe('the client address for the hub’s own routes', () => {
  const behind = (list: string, env: Record<string, string> = {}) => {
    const all = { ...env, PARACHUTE_TRUSTED_PROXIES: list };
    const resolve = clientAddressOf(all, trustedProxy(all));
    return (peer: string, headers: Record<string, string> = {}) =>
      resolve(peer, new Headers(headers));
  };

  test('an untrusted peer is the client, whatever it claims', () => {
    const of = behind('10.0.0.0/8');
    expect(of('203.0.113.7', { 'x-forwarded-for': '198.51.100.1' })).toBe('203.0.113.7');
    expect(behind('')('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' })).toBe('127.0.0.1');
  });

  test('behind listed proxies, the rightmost address that is not one of them', () => {
    const of = behind('127.0.0.1, 10.0.0.0/8, ::1');
    // Caddy on the same machine appended the visitor it saw.
    expect(of('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' })).toBe('198.51.100.1');
    expect(of('::1', { 'x-forwarded-for': '2001:db8::5' })).toBe('2001:db8::5');
    // What the client wrote itself (left of the real entry) is never believed.
    expect(of('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 198.51.100.1' })).toBe('198.51.100.1');
    // Proxies in a chain are skipped.
    expect(of('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 198.51.100.1, 10.0.0.5' })).toBe(
      '198.51.100.1',
    );
    // No header, or a malformed chain: the proxy's own address.
    expect(of('127.0.0.1')).toBe('127.0.0.1');
    expect(of('127.0.0.1', { 'x-forwarded-for': '198.51.100.1, ' })).toBe('127.0.0.1');
    // Only listed proxies in the chain: the one closest to the client.
    expect(of('127.0.0.1', { 'x-forwarded-for': '10.0.0.9, 10.0.0.5' })).toBe('10.0.0.9');
  });

  test('on Fly, the address its edge puts in Fly-Client-IP; on Render, the peer', () => {
    const fly = behind('', { FLY_APP_NAME: 'hub' });
    expect(
      fly('172.16.1.2', { 'fly-client-ip': '198.51.100.1', 'x-forwarded-for': '1.1.1.1, 9.9.9.9' }),
    ).toBe('198.51.100.1');
    expect(fly('172.16.1.2')).toBe('172.16.1.2');
    const render = behind('', { RENDER_EXTERNAL_URL: 'https://hub.onrender.com' });
    expect(render('10.21.0.1', { 'x-forwarded-for': '198.51.100.1' })).toBe('10.21.0.1');
  });
});
