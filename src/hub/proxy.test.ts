import { describe, expect, test } from 'bun:test';
import { splitUrl, withoutHubCookies } from './proxy.ts';

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

describe('splitUrl', () => {
  test('matches new URL() for the URLs Bun.serve hands over', () => {
    for (const url of [
      'http://127.0.0.1:1939/',
      'http://127.0.0.1:1939/vault/default/api?q=1&r=%20',
      'https://hub.example.com/a/b/',
      'http://[::1]:8080/x?',
      'http://h:1/p?a=b?c',
    ]) {
      const parsed = new URL(url);
      expect(splitUrl(url)).toEqual({
        protocol: parsed.protocol,
        host: parsed.host,
        pathname: parsed.pathname,
        search: parsed.search,
      });
    }
  });
});
