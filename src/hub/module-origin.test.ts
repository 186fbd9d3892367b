import { describe, expect, test } from 'bun:test';
import type { Mount } from '../modules/mounts.ts';
import { hubPathOnModuleOrigin, toModuleOrigin } from './module-origin.ts';

const mount = (module: string): Mount => ({
  prefix: '/vault/default',
  name: 'parachute-vault',
  module,
  port: 1940,
  stripPrefix: false,
  websocket: false,
  managed: true,
  uis: null,
});
const ISSUER = 'https://hub.example.com';
const get = (headers: Record<string, string>, method = 'GET') =>
  new Request('https://hub.example.com/vault/default/notes?x=1', { method, headers });

describe('toModuleOrigin', () => {
  test("sends a browser's navigation to the module's own origin, path and query kept", () => {
    const res = toModuleOrigin(
      get({ 'sec-fetch-mode': 'navigate' }),
      mount('vault'),
      'apps.example.com',
      ISSUER,
    );
    expect(res?.status).toBe(307);
    expect(res?.headers.get('location')).toBe(
      'https://vault.apps.example.com/vault/default/notes?x=1',
    );
    // A browser without Fetch Metadata, asking for a page.
    const old = toModuleOrigin(
      get({ accept: 'text/html' }),
      mount('vault'),
      'apps.example.com',
      ISSUER,
    );
    expect(old?.status).toBe(307);
  });

  test('leaves API clients, subresources, other methods and unnamed modules alone', () => {
    const cases: [Request, string][] = [
      [get({ accept: 'application/json' }), 'vault'],
      [get({ 'sec-fetch-mode': 'cors', accept: 'text/html' }), 'vault'],
      [get({ 'sec-fetch-mode': 'navigate' }, 'POST'), 'vault'],
      [get({ 'sec-fetch-mode': 'navigate' }), 'Parachute.Vault'],
    ];
    for (const [request, module] of cases) {
      expect(toModuleOrigin(request, mount(module), 'apps.example.com', ISSUER)).toBeNull();
    }
  });
});

test("a module's origin answers only its session and the public discovery documents", () => {
  expect(hubPathOnModuleOrigin('GET', '/api/module-session')).toBe(true);
  expect(hubPathOnModuleOrigin('POST', '/api/module-session/logout')).toBe(true);
  expect(hubPathOnModuleOrigin('GET', '/.well-known/jwks.json')).toBe(true);
  // A cross-origin reader of parachute.json may preflight it.
  expect(hubPathOnModuleOrigin('OPTIONS', '/.well-known/parachute.json')).toBe(true);
  expect(hubPathOnModuleOrigin('GET', '/admin/module-token/vault')).toBe(true);
  for (const [method, path] of [
    ['GET', '/admin/module-token/'],
    ['GET', '/admin/module-token/x/y'],
    ['POST', '/admin/host-admin-token'],
    ['GET', '/admin/'],
    ['GET', '/api/auth/session'],
    ['POST', '/api/users'],
    ['GET', '/oauth/authorize'],
    ['POST', '/.well-known/x'],
    ['GET', '/api/module-sessionx'],
    ['GET', '/login'],
  ]) {
    expect(hubPathOnModuleOrigin(method as string, path as string)).toBe(false);
  }
});

test("a module's origin answers its connections, each path with its one method", () => {
  expect(hubPathOnModuleOrigin('GET', '/admin/connections')).toBe(true);
  expect(hubPathOnModuleOrigin('POST', '/admin/connections')).toBe(true);
  expect(hubPathOnModuleOrigin('DELETE', '/admin/connections/cred-x')).toBe(true);
  expect(hubPathOnModuleOrigin('POST', '/admin/connections/cred-x/renew')).toBe(true);
  // A GET below it would be the admin UI's shell.
  for (const [method, path] of [
    ['GET', '/admin/connections/cred-x'],
    ['GET', '/admin/connections/'],
    ['PUT', '/admin/connections'],
    ['DELETE', '/admin/connections/a/b'],
    ['POST', '/admin/connections/a/approve'],
  ]) {
    expect(hubPathOnModuleOrigin(method as string, path as string)).toBe(false);
  }
});
