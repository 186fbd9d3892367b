import { describe, expect, test } from 'bun:test';
import { isPublicAddress } from './public-address.ts';

describe('public addresses', () => {
  test('loopback, private, link-local, metadata and reserved IPv4 are not public', () => {
    for (const a of [
      '127.0.0.1',
      '127.255.0.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
    ]) {
      expect([a, isPublicAddress(a)]).toEqual([a, false]);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1']) {
      expect([a, isPublicAddress(a)]).toEqual([a, true]);
    }
  });

  test('IPv6: loopback, ULA, link-local, multicast and v4 in disguise are judged by what they reach', () => {
    for (const a of [
      '::1',
      '::',
      'fd00::1',
      'fc12::3',
      'fe80::1%eth0',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2001:db8::1',
      '[::1]',
      'not-an-address',
    ]) {
      expect([a, isPublicAddress(a)]).toEqual([a, false]);
    }
    for (const a of ['2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:0808:0808::1']) {
      expect([a, isPublicAddress(a)]).toEqual([a, true]);
    }
  });
});
