import { describe, expect, test } from 'bun:test';
import {
  applyModuleHeaderRules,
  isHubSetCookie,
  SANDBOX_CSP,
  withoutHubCookies,
} from './module-headers.ts';

describe('withoutHubCookies', () => {
  test("drops the hub's session and CSRF cookies wherever they are", () => {
    expect(withoutHubCookies('a=1; parachute_session=s; b=2; parachute_csrf=c')).toBe('a=1; b=2');
    expect(withoutHubCookies('parachute_session=s;parachute_csrf=c')).toBe('');
    expect(withoutHubCookies(' parachute_csrf=c ;  theme=dark ')).toBe('theme=dark');
    expect(withoutHubCookies('a=1;parachute_csrf=c;b=2')).toBe('a=1;b=2');
    // A bare name (no `=`) is that cookie too.
    expect(withoutHubCookies('parachute_session; a=1')).toBe('a=1');
  });

  test('keeps look-alikes and passes headers without hub cookies untouched', () => {
    expect(withoutHubCookies('parachute_sessionx=1; x_parachute_session=2')).toBe(
      'parachute_sessionx=1; x_parachute_session=2',
    );
    expect(withoutHubCookies('a=1;b=2')).toBe('a=1;b=2');
    // The name inside another cookie's value is not a hub cookie.
    expect(withoutHubCookies('next=parachute_session=x; b=2')).toBe(
      'next=parachute_session=x; b=2',
    );
  });
});

describe('withoutHubCookies: the https names and the module-origin cookies', () => {
  test('drops every hub cookie in its plain and __Host- form', () => {
    expect(
      withoutHubCookies(
        '__Host-parachute_session=s; a=1; __Host-parachute_csrf=c; parachute_module_session=m; __Host-parachute_module_state=t; b=2',
      ),
    ).toBe('a=1; b=2');
  });
});

describe('isHubSetCookie', () => {
  test("is true for the hub's cookies however they are written", () => {
    for (const cookie of [
      'parachute_session=x; Path=/',
      ' parachute_csrf =x',
      '__Host-parachute_session=x; Secure; Path=/',
      'parachute_module_session=x',
      'parachute_session',
      // Nameless: browsers send it as `parachute_session=forged`.
      '=parachute_session=forged; Path=/',
      '= __Host-parachute_csrf=forged',
    ]) {
      expect(isHubSetCookie(cookie)).toBe(true);
    }
  });
  test("is false for the module's own cookies", () => {
    for (const cookie of ['theme=dark', 'parachute_sessions=1', '=plain', 'x=parachute_session']) {
      expect(isHubSetCookie(cookie)).toBe(false);
    }
  });
});

describe('applyModuleHeaderRules', () => {
  const answer = () =>
    new Headers([
      ['content-type', 'text/html'],
      ['service-worker-allowed', '/'],
      ['clear-site-data', '"cookies", "storage"'],
      ['content-security-policy', "default-src 'self'"],
      ['set-cookie', 'parachute_session=; Max-Age=0'],
      ['set-cookie', 'theme=dark'],
    ]);

  const mount = { name: 'fx-test', prefix: '/fx-test' };

  test('drops Clear-Site-Data and Set-Cookie for the hub, and caps workers at the mount, in every mode', () => {
    for (const sandbox of [false, true]) {
      const headers = answer();
      applyModuleHeaderRules(headers, mount, sandbox);
      // A page is never a worker's script: the module's `/` goes and nothing replaces it.
      expect(headers.get('service-worker-allowed')).toBeNull();
      expect(headers.get('clear-site-data')).toBeNull();
      expect(headers.getSetCookie()).toEqual(['theme=dark']);
      expect(headers.get('content-type')).toBe('text/html');
    }
  });

  test('every answer a browser could run as a worker is capped at the mount', () => {
    const types = [
      'text/javascript',
      'application/javascript; charset=utf-8',
      'TEXT/ECMASCRIPT',
      'application/x-javascript',
      'text/jscript',
      'text/livescript',
      'text/html, text/javascript',
    ];
    for (const type of types) {
      const headers = answer();
      headers.set('content-type', type);
      applyModuleHeaderRules(headers, mount, false);
      // The module's `/` is replaced: a worker from /fx-test (folder `/`) covers /fx-test/ at most.
      expect(headers.get('service-worker-allowed')).toBe('/fx-test/');
    }
  });

  test("sandboxing adds a policy of its own and keeps the module's", () => {
    const trusted = answer();
    applyModuleHeaderRules(trusted, mount, false);
    expect(trusted.get('content-security-policy')).toBe("default-src 'self'");
    const isolated = answer();
    applyModuleHeaderRules(isolated, mount, true);
    // Two policies, both enforced (CSP 3 section 8.1).
    expect(isolated.get('content-security-policy')).toBe(`default-src 'self', ${SANDBOX_CSP}`);
    expect(SANDBOX_CSP).toStartWith('sandbox ');
    expect(SANDBOX_CSP).not.toContain('allow-same-origin');
  });
});
