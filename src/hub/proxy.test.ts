import { afterEach, describe, expect, test } from 'bun:test';
import type { Mount } from '../modules/mounts.ts';
import { eachUpstreamHeader, forward, pathAndQuery } from './proxy.ts';

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

describe('eachUpstreamHeader', () => {
  const HUB = 'http://hub.example:1939/m/x';
  const upstream = (headers: Headers, clientIp: string, trusted: boolean) => {
    const out: [string, string][] = [];
    eachUpstreamHeader(headers, HUB, { clientIp, trusted, state: null, sandbox: false }, (n, v) => {
      out.push([n, v]);
    });
    return out;
  };
  const client = () =>
    new Headers({
      host: 'hub.example:1939',
      connection: 'keep-alive, x-hop',
      'x-hop': 'one hop only',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic eA==',
      cookie: 'parachute_session=s; theme=dark',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=6.6.6.6',
      accept: 'text/html',
    });

  test('from an untrusted peer: what the hub saw replaces what the client claims', () => {
    const headers = client();
    expect(upstream(headers, '203.0.113.9', false)).toEqual([
      ['accept', 'text/html'],
      ['cookie', 'theme=dark'],
      ['x-forwarded-for', '203.0.113.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'hub.example:1939'],
      ['forwarded', 'for=203.0.113.9;host="hub.example:1939";proto=http'],
    ]);
    // The request's own headers are left as they were.
    expect(headers.get('x-hop')).toBe('one hop only');
  });

  test('from a trusted proxy: its chain is extended and what it said is kept', () => {
    expect(upstream(client(), '10.0.0.2', true)).toEqual([
      ['accept', 'text/html'],
      ['cookie', 'theme=dark'],
      ['forwarded', 'for=6.6.6.6'],
      ['x-forwarded-host', 'evil.example'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-for', '6.6.6.6, 10.0.0.2'],
    ]);
    const bare = upstream(new Headers({ host: 'hub.example:1939' }), '10.0.0.2', true);
    expect(bare).toEqual([
      ['x-forwarded-for', '10.0.0.2'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'hub.example:1939'],
    ]);
  });

  test('an IPv6 client is bracketed and quoted in Forwarded', () => {
    const out = upstream(new Headers({ host: 'h:1' }), '2001:db8::7', false);
    expect(out).toContainEqual(['forwarded', 'for="[2001:db8::7]";host="h:1";proto=http']);
  });
});

describe('forward, answered through the hub’s own client (GETs without a body)', () => {
  /** A module on a raw TCP port answering every request with `answer`, and a server forwarding to it. */
  function proxyTo(answer: string) {
    const module = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        data(socket) {
          socket.write(answer);
        },
      },
    });
    const mount: Mount = {
      prefix: '/m',
      name: 'fx-raw',
      port: module.port,
      stripPrefix: true,
      websocket: false,
      managed: false,
      module: 'fx-raw',
    };
    const hub = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request) =>
        forward(request, mount, {
          clientIp: '127.0.0.1',
          trusted: false,
          state: null,
          sandbox: false,
        }),
    });
    stops.push(() => {
      hub.stop(true);
      module.stop(true);
    });
    return `http://127.0.0.1:${hub.port}/m/x`;
  }
  const stops: (() => void)[] = [];
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });

  test('hop-by-hop answer headers and those Connection names are dropped; the rest pass as sent', async () => {
    const url = proxyTo(
      'HTTP/1.1 200 OK\r\nconnection: keep-alive, x-secret\r\nkeep-alive: timeout=5\r\nx-secret: 1\r\n' +
        'proxy-authenticate: Basic\r\nupgrade: h2c\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n' +
        'set-cookie: parachute_session=forged; Path=/\r\nset-cookie: theme=dark\r\n' +
        'x-keep: kept\r\ncontent-length: 5\r\n\r\nhello',
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
    for (const name of ['x-secret', 'keep-alive', 'proxy-authenticate', 'upgrade']) {
      expect(res.headers.get(name)).toBeNull();
    }
    expect(res.headers.get('x-keep')).toBe('kept');
    expect(res.headers.get('date')).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(res.headers.getSetCookie()).toEqual(['theme=dark']);
    expect(res.headers.get('content-length')).toBe('5');
    // The module sent no Content-Type: the visitor is not told one it did not send.
    expect(res.headers.get('content-type')).toBeNull();
  });

  test('an answer that breaks HTTP is a 502 that says so', async () => {
    const url = proxyTo('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello');
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body).toMatchObject({
      error: 'module_unavailable',
      module: 'fx-raw',
      state: 'misbehaving',
    });
    expect(body.error_description).toContain('not valid HTTP/1.1');
  });
});
