import { describe, expect, test } from 'bun:test';
import {
  moduleOfHost,
  moduleOrigin,
  normalizeAppsDomain,
  resolveAppsDomain,
} from './apps-domain.ts';
import { OperatorError } from './operator-error.ts';

describe('normalizeAppsDomain', () => {
  test('takes the name with or without the wildcard, in any case, with a trailing dot', () => {
    for (const raw of ['apps.example.com', '*.apps.example.com', ' Apps.Example.COM. ']) {
      expect(normalizeAppsDomain(raw, 'x')).toBe('apps.example.com');
    }
  });
  test('refuses anything that is not a multi-label DNS name', () => {
    for (const raw of [
      'com',
      'https://apps.example.com',
      'apps.example.com:8443',
      'apps.example.com/x',
      'apps..example.com',
      '-apps.example.com',
      'apps_x.example.com',
      '',
    ]) {
      expect(() => normalizeAppsDomain(raw, 'x')).toThrow(OperatorError);
    }
  });
});

describe('resolveAppsDomain: settings, then PARACHUTE_APPS_DOMAIN, else none', () => {
  test('the saved setting wins', () => {
    expect(resolveAppsDomain('a.example.org', { PARACHUTE_APPS_DOMAIN: 'b.example.org' })).toEqual({
      domain: 'a.example.org',
      source: 'settings',
    });
  });
  test('then the environment', () => {
    expect(resolveAppsDomain(null, { PARACHUTE_APPS_DOMAIN: '*.b.example.org' })).toEqual({
      domain: 'b.example.org',
      source: 'PARACHUTE_APPS_DOMAIN',
    });
  });
  test('else modules share the hub origin', () => {
    expect(resolveAppsDomain(null, { PARACHUTE_APPS_DOMAIN: ' ' })).toEqual({
      domain: null,
      source: null,
    });
  });
});

describe('moduleOfHost', () => {
  const domain = 'apps.example.com';
  test('names the module of a host one label under the apps domain, with or without a port', () => {
    expect(moduleOfHost('vault.apps.example.com', domain)).toBe('vault');
    expect(moduleOfHost('Fx-UI.Apps.Example.com:8443', domain)).toBe('fx-ui');
    expect(moduleOfHost('vault.apps.example.com.', domain)).toBe('vault');
  });
  test('is null for the hub, other hosts, deeper names and non-module labels', () => {
    for (const host of [
      'apps.example.com',
      'hub.example.com',
      'a.vault.apps.example.com',
      'vault.apps.example.com.evil.org',
      'vaultapps.example.com',
      '1vault.apps.example.com',
      '[::1]:1939',
      '127.0.0.1:1939',
      null,
    ]) {
      expect(moduleOfHost(host, domain)).toBe(null);
    }
  });
  test('is null when no apps domain is set', () => {
    expect(moduleOfHost('vault.apps.example.com', null)).toBe(null);
  });
});

test("moduleOrigin keeps the issuer's scheme and port", () => {
  expect(moduleOrigin('vault', 'apps.example.com', 'https://hub.example.com')).toBe(
    'https://vault.apps.example.com',
  );
  expect(moduleOrigin('fx-ui', 'apps.localhost', 'http://127.0.0.1:4123')).toBe(
    'http://fx-ui.apps.localhost:4123',
  );
});
