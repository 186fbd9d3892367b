import { afterEach, describe, expect, test } from 'bun:test';
import { waitFor } from '../../test/helpers/binary.ts';
import {
  ok,
  type Reply,
  scriptedModule,
  stopScriptedModules,
} from '../../test/helpers/scripted-module.ts';
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

// Headers iterate in name order, so the lists below are sorted by name.
describe('eachUpstreamHeader', () => {
  const HUB = 'http://hub.example:1939/m/x';
  const upstream = (
    headers: Headers,
    clientIp: string,
    trusted: boolean,
    visitor: string | null = clientIp,
  ) => {
    const out: [string, string][] = [];
    eachUpstreamHeader(
      headers,
      HUB,
      { clientIp, trusted, visitor, state: null, sandbox: false, session: null },
      (n, v) => {
        out.push([n, v]);
      },
    );
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
      ['forwarded', 'for=203.0.113.9;host="hub.example:1939";proto=http'],
      ['x-forwarded-for', '203.0.113.9'],
      ['x-forwarded-host', 'hub.example:1939'],
      ['x-forwarded-proto', 'http'],
      ['x-parachute-client-ip', '203.0.113.9'],
      ['x-parachute-layer', 'public'],
    ]);
    // The request's own headers are left as they were.
    expect(headers.get('x-hop')).toBe('one hop only');
  });

  test('from a trusted proxy: its chain is extended and what it said is kept', () => {
    expect(upstream(client(), '10.0.0.2', true, '6.6.6.6')).toEqual([
      ['accept', 'text/html'],
      ['cookie', 'theme=dark'],
      ['forwarded', 'for=6.6.6.6'],
      ['x-forwarded-for', '6.6.6.6, 10.0.0.2'],
      ['x-forwarded-host', 'evil.example'],
      ['x-forwarded-proto', 'https'],
      ['x-parachute-client-ip', '6.6.6.6'],
      ['x-parachute-layer', 'public'],
    ]);
    const bare = upstream(new Headers({ host: 'hub.example:1939' }), '10.0.0.2', true);
    expect(bare).toEqual([
      ['x-forwarded-for', '10.0.0.2'],
      ['x-forwarded-host', 'hub.example:1939'],
      ['x-forwarded-proto', 'http'],
      ['x-parachute-client-ip', '10.0.0.2'],
      ['x-parachute-layer', 'public'],
    ]);
  });

  test('X-Parachute-Layer is loopback only for a header-less request from this machine', () => {
    const layer = (headers: Record<string, string>, peer: string, trusted = false) =>
      upstream(new Headers({ host: 'h:1', ...headers }), peer, trusted)
        .filter(([n]) => n.startsWith('x-parachute-'))
        .map(([n, v]) => `${n}=${v}`);
    const layerOf = (headers: Record<string, string>, peer: string, trusted = false) =>
      layer(headers, peer, trusted).find((h) => h.startsWith('x-parachute-layer='));
    for (const peer of ['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1']) {
      expect(layer({}, peer)).toEqual([
        `x-parachute-client-ip=${peer}`,
        'x-parachute-layer=loopback',
      ]);
    }
    // A visitor's own claims are replaced by what the hub saw.
    const forged = { 'x-parachute-layer': 'loopback', 'x-parachute-client-ip': '127.0.0.1' };
    expect(layer(forged, '203.0.113.9')).toEqual([
      'x-parachute-client-ip=203.0.113.9',
      'x-parachute-layer=public',
    ]);
    // Relayed requests may come from anywhere: a local reverse proxy, a tunnel.
    const relays: Record<string, string>[] = [
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-forwarded-host': 'hub.example' },
      { forwarded: 'for=127.0.0.1' },
    ];
    for (const relayed of relays) {
      expect(layerOf(relayed, '127.0.0.1')).toBe('x-parachute-layer=public');
    }
    // So may anything a trusted proxy on this machine sends; and an unknown peer is public.
    expect(layerOf({}, '127.0.0.1', true)).toBe('x-parachute-layer=public');
    expect(layerOf({}, 'unknown')).toBe('x-parachute-layer=public');
    expect(layerOf({}, '192.168.1.4')).toBe('x-parachute-layer=public');
  });

  test('an IPv6 client is bracketed and quoted in Forwarded', () => {
    const out = upstream(new Headers({ host: 'h:1' }), '2001:db8::7', false);
    expect(out).toContainEqual(['forwarded', 'for="[2001:db8::7]";host="h:1";proto=http']);
  });
});

describe('forward', () => {
  /** A scripted module, and a server forwarding `/m/...` to it; returns the module and the hub's URL. */
  function proxyTo(reply: Reply) {
    const module = scriptedModule(reply);
    const mount: Mount = {
      prefix: '/m',
      name: 'fx-raw',
      port: module.port,
      stripPrefix: true,
      websocket: false,
      managed: false,
      uis: null,
      module: 'fx-raw',
    };
    const hub = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request) =>
        forward(request, mount, {
          clientIp: '127.0.0.1',
          trusted: false,
          visitor: '127.0.0.1',
          state: null,
          sandbox: false,
          session: null,
        }),
    });
    hubs.push(hub);
    return { module, url: `http://127.0.0.1:${hub.port}/m` };
  }
  const hubs: ReturnType<typeof Bun.serve>[] = [];
  afterEach(() => {
    for (const hub of hubs.splice(0)) hub.stop(true);
    stopScriptedModules();
  });
  const json = { headers: { accept: 'application/json' } };

  test('hop-by-hop answer headers and those Connection names are dropped; the rest pass as sent', async () => {
    const { url } = proxyTo((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nconnection: keep-alive, x-secret\r\nkeep-alive: timeout=5\r\nx-secret: 1\r\n' +
          'proxy-authenticate: Basic\r\nupgrade: h2c\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n' +
          'set-cookie: parachute_session=forged; Path=/\r\nset-cookie: theme=dark\r\n' +
          'x-keep: kept\r\ncontent-length: 5\r\n\r\nhello',
      );
    });
    const res = await fetch(`${url}/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
    for (const name of ['x-secret', 'keep-alive', 'proxy-authenticate', 'upgrade']) {
      expect(res.headers.get(name)).toBeNull();
    }
    expect(res.headers.get('x-keep')).toBe('kept');
    expect(res.headers.get('date')).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(res.headers.getSetCookie()).toEqual(['theme=dark']);
    expect(res.headers.get('content-length')).toBe('5');
  });

  test.each([
    [
      'two different lengths',
      'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello',
    ],
    ['a length that is not a number', 'HTTP/1.1 200 OK\r\ncontent-length: 5x\r\n\r\nhello'],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n'],
    [
      'a control character in a header',
      'HTTP/1.1 200 OK\r\nx-a: a\x01b\r\ncontent-length: 0\r\n\r\n',
    ],
    ['101 to a plain GET', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'],
  ])('an answer with %s is a 502 that says the module misbehaves', async (_, answer) => {
    const { url } = proxyTo((socket) => void socket.write(answer));
    const res = await fetch(`${url}/x`, json);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body).toMatchObject({
      error: 'module_unavailable',
      module: 'fx-raw',
      state: 'misbehaving',
    });
    expect(body.error_description).toContain('not valid HTTP/1.1');
  });

  test('a module that is not listening, or closes without answering, is a 502 saying so', async () => {
    const { url, module } = proxyTo((socket) => void socket.terminate());
    const closing = await fetch(`${url}/x`, json);
    expect(closing.status).toBe(502);
    expect(await closing.json()).toMatchObject({ state: 'unreachable' });
    expect(module.seen.length).toBe(1);
    stopScriptedModules();
    const gone = await fetch(`${url}/x`, json);
    expect(gone.status).toBe(502);
    expect(await gone.json()).toMatchObject({ state: 'unreachable' });
  });

  test('bytes past the declared length reach nobody; the next request gets its own answer', async () => {
    const smuggled = 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled';
    const { url } = proxyTo((socket, seen) => {
      socket.write(seen.head.startsWith('GET /first') ? `${ok('short')}${smuggled}` : ok('honest'));
    });
    expect(await (await fetch(`${url}/first`)).text()).toBe('short');
    expect(await (await fetch(`${url}/second`)).text()).toBe('honest');
  });

  test('requests at the same time each get their own connection and their own answer', async () => {
    const { url, module } = proxyTo(async (socket, seen) => {
      // Every request waits for all eight, so answers cannot line up by accident.
      await waitFor('every request to arrive', () => module.seen.length >= 8 || undefined);
      socket.write(ok(`for ${seen.head.split(' ')[1]}`));
    });
    const paths = Array.from({ length: 8 }, (_, i) => `/p${i}`);
    const bodies = await Promise.all(paths.map(async (p) => (await fetch(`${url}${p}`)).text()));
    expect(bodies).toEqual(paths.map((p) => `for ${p}`));
    expect(module.connections()).toBe(8);
  });

  test('a chunked answer arriving a byte at a time, with extensions and trailers, passes whole', async () => {
    const { url } = proxyTo(async (socket) => {
      const answer =
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n';
      for (const ch of answer) {
        socket.write(ch);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    expect(await (await fetch(`${url}/x`)).text()).toBe('hello, world');
  });

  test('a Content-Length beside Transfer-Encoding never reaches the visitor (RFC 9112 section 6.3)', async () => {
    const ended = Promise.withResolvers<void>();
    const { url } = proxyTo(async (socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n',
      );
      // The last chunk once the visitor has the head, so the body streams through.
      await ended.promise;
      socket.write('0\r\n\r\n');
    });
    const res = await fetch(`${url}/x`);
    ended.resolve();
    expect(res.headers.get('content-length')).toBeNull();
    expect(await res.text()).toBe('abc');
  });

  test('1xx answers before the real one are skipped; 204 and 304 pass without a body', async () => {
    const { url } = proxyTo((socket, seen) => {
      const path = seen.head.split(' ')[1];
      if (path === '/hints') {
        socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n');
        socket.write(ok('final'));
      } else if (path === '/none') {
        socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      } else {
        socket.write('HTTP/1.1 304 Not Modified\r\netag: "v1"\r\n\r\n');
      }
    });
    const hints = await fetch(`${url}/hints`);
    expect([hints.status, await hints.text()]).toEqual([200, 'final']);
    const none = await fetch(`${url}/none`);
    expect([none.status, await none.text()]).toEqual([204, '']);
    const cached = await fetch(`${url}/cached`);
    expect([cached.status, cached.headers.get('etag'), await cached.text()]).toEqual([
      304,
      '"v1"',
      '',
    ]);
  });

  test('a visitor cancelling a streamed answer closes its connection to the module', async () => {
    const { url, module } = proxyTo((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n');
    });
    const res = await fetch(`${url}/x`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    await reader.cancel();
    await waitFor('the module to see the close', () => module.closed() >= 1 || undefined);
  });

  /** Sends `head` (with `Connection: close` added) and resolves with everything the hub answers. */
  function rawRequest(url: string, head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      void Bun.connect({
        hostname: '127.0.0.1',
        port: Number(new URL(url).port),
        socket: {
          open: (socket) => void socket.write(head.replace('\r\n', '\r\nConnection: close\r\n')),
          data: (_, data) => {
            got += data.toString('latin1');
          },
          close: () => resolve(got),
          connectError: (_, error) => reject(error),
        },
      });
    });
  }

  test.each(['GET', 'HEAD'])(
    'a %s that declares a body is refused before the module sees it',
    async (method) => {
      const { url, module } = proxyTo((socket) => void socket.write(ok('answered')));
      const answer = await rawRequest(
        url,
        `${method} /m/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello`,
      );
      expect(answer).toStartWith('HTTP/1.1 400 ');
      expect(module.seen.length).toBe(0);
    },
  );

  test('a GET saying Content-Length: 0 has no body, and is forwarded', async () => {
    const { url, module } = proxyTo((socket) => void socket.write(ok('answered')));
    const answer = await rawRequest(
      url,
      'GET /m/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
    );
    expect(answer).toStartWith('HTTP/1.1 200 ');
    expect(answer).toEndWith('answered');
    expect(module.seen[0]?.head).not.toMatch(/content-length: *[1-9]|transfer-encoding/i);
  });
});
