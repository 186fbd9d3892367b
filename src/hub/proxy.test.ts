import { describe, expect, test } from 'bun:test';
import { pathAndQuery, withoutHubCookies } from './proxy.ts';

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

describe('pathAndQuery', () => {
  test('is the path and query of the URLs Bun.serve hands over, without a fragment', () => {
    expect(pathAndQuery('http://127.0.0.1:1939/')).toBe('/');
    expect(pathAndQuery('http://127.0.0.1:1939/vault/default/api?q=1&r=%20')).toBe(
      '/vault/default/api?q=1&r=%20',
    );
    expect(pathAndQuery('https://hub.example.com/a/b/')).toBe('/a/b/');
    expect(pathAndQuery('http://[::1]:8080/x?')).toBe('/x?');
    expect(pathAndQuery('http://h:1/p?a=b?c')).toBe('/p?a=b?c');
    // Bun keeps a fragment sent in the request line; it never reaches a module.
    expect(pathAndQuery('http://h:1/a#b?c')).toBe('/a');
    expect(pathAndQuery('http://h:1/a?x#y')).toBe('/a?x');
  });
});
