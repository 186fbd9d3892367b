import { describe, expect, test } from 'bun:test';
import { sameOriginRequest } from './csrf.ts';

const hub = {
  origins: ['https://hub.example.com', 'http://127.0.0.1:1939'],
  appsDomain: 'apps.example.com',
  secureCookies: true,
};

function post(headers: Record<string, string>): Request {
  return new Request('https://hub.example.com/api/users', { method: 'POST', headers });
}

describe('sameOriginRequest: Fetch Metadata and Origin', () => {
  test("a page of the hub's own origin passes", () => {
    expect(
      sameOriginRequest(
        post({ origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' }),
        hub,
      ),
    ).toBe(true);
    // Clients that send no Fetch Metadata are judged by Origin alone.
    expect(sameOriginRequest(post({ origin: 'http://127.0.0.1:1939' }), hub)).toBe(true);
  });

  test('a same-site module page is refused even when its Origin is (somehow) the hub', () => {
    for (const site of ['same-site', 'cross-site', 'none']) {
      expect(
        sameOriginRequest(post({ origin: 'https://hub.example.com', 'sec-fetch-site': site }), hub),
      ).toBe(false);
    }
  });

  test("the request's own Host stands in for a LAN address, never for a module's origin", () => {
    expect(
      sameOriginRequest(post({ origin: 'http://192.168.1.5:1939', host: '192.168.1.5:1939' }), hub),
    ).toBe(true);
    expect(
      sameOriginRequest(
        post({
          origin: 'https://evil.apps.example.com',
          host: 'evil.apps.example.com',
          'sec-fetch-site': 'same-origin',
        }),
        hub,
      ),
    ).toBe(false);
  });

  test('no Origin and no Referer, or an opaque origin, is refused', () => {
    expect(sameOriginRequest(post({}), hub)).toBe(false);
    expect(sameOriginRequest(post({ origin: 'null' }), hub)).toBe(false);
  });
});
