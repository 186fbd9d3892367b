import { describe, expect, test } from 'bun:test';
import { OperatorError } from './operator-error.ts';
import { hubOrigins, normalizeOrigin, resolveOrigin } from './origin.ts';

const all = {
  PARACHUTE_HUB_ORIGIN: 'https://hub.example.com/',
  RENDER_EXTERNAL_URL: 'https://my-hub.onrender.com',
  FLY_APP_NAME: 'my-hub',
};

describe('resolveOrigin: settings → PARACHUTE_HUB_ORIGIN → RENDER_EXTERNAL_URL → FLY_APP_NAME → loopback', () => {
  test('the saved setting wins over everything', () => {
    expect(resolveOrigin('https://saved.example.org', all, 1939)).toEqual({
      origin: 'https://saved.example.org',
      source: 'settings',
    });
  });
  test('then PARACHUTE_HUB_ORIGIN, without its trailing slash', () => {
    expect(resolveOrigin(null, all, 1939)).toEqual({
      origin: 'https://hub.example.com',
      source: 'PARACHUTE_HUB_ORIGIN',
    });
  });
  test('then RENDER_EXTERNAL_URL', () => {
    const { PARACHUTE_HUB_ORIGIN: _, ...env } = all;
    expect(resolveOrigin(null, env, 1939)).toEqual({
      origin: 'https://my-hub.onrender.com',
      source: 'RENDER_EXTERNAL_URL',
    });
  });
  test('then https://$FLY_APP_NAME.fly.dev', () => {
    expect(resolveOrigin(null, { FLY_APP_NAME: 'my-hub' }, 1939)).toEqual({
      origin: 'https://my-hub.fly.dev',
      source: 'FLY_APP_NAME',
    });
  });
  test('then loopback on the hub port', () => {
    expect(resolveOrigin(undefined, {}, 4100)).toEqual({
      origin: 'http://127.0.0.1:4100',
      source: 'loopback',
    });
  });
  test('blank values are skipped', () => {
    expect(resolveOrigin('', { PARACHUTE_HUB_ORIGIN: '  ' }, 1939).source).toBe('loopback');
  });
});

describe('normalizeOrigin', () => {
  test.each([
    ['https://Hub.Example.com/', 'https://hub.example.com'],
    ['https://hub.example.com:443', 'https://hub.example.com'],
    ['http://10.0.0.5:1939', 'http://10.0.0.5:1939'],
  ])('%p → %p', (raw, expected) => expect(normalizeOrigin(raw, 'x')).toBe(expected));

  test.each([
    'hub.example.com',
    'ftp://hub',
    'https://hub/path',
    'https://u:p@hub',
    'https://hub/?q=1',
  ])('%p is refused with a clear error', (raw) =>
    expect(() => normalizeOrigin(raw, 'PARACHUTE_HUB_ORIGIN')).toThrow(OperatorError),
  );
});

test('hubOrigins lists the issuer, its loopback aliases and the platform origin once each', () => {
  expect(hubOrigins('https://my-hub.fly.dev', 1939, { FLY_APP_NAME: 'my-hub' })).toEqual([
    'https://my-hub.fly.dev',
    'http://127.0.0.1:1939',
    'http://localhost:1939',
  ]);
});
