import { beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let home: string;
let call: OperatorCall;
/** What the hub has written to stderr (its warnings) so far. */
let hubStderr: () => string;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  call = started.call;
  hubStderr = started.hub.stderr;
  expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
  await running(call, 'fx-good');
}, 60_000);

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string;
}
const echo = async (res: Response) => (await res.json()) as Echo;

/** Sends `head` as raw bytes (fetch() would fix a bad Host) and returns the hub's whole answer. */
function rawHttp(head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(head));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

/** A bare WebSocket handshake request, to see the hub's HTTP answer to it. */
function upgradeRequest(path: string) {
  return fetch(`${url}${path}`, {
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    },
  });
}

/** Opens a WebSocket through the hub and records what happens to it. */
async function openWs(path: string, protocols: string[] = []) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`, protocols);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
  });
  return { ws, opened, closed };
}

const MiB = 1024 * 1024;

/**
 * A WebSocket client on a bare TCP socket that stops reading once the
 * handshake is answered, so the hub's queue towards it can only fill.
 */
async function unreadWebSocket(path: string) {
  const { hostname, port, host } = new URL(url);
  const socket = connect(Number(port), hostname);
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    let head = '';
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.pause();
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
  return {
    /** Sends a short text message, masked as a client must (RFC 6455 section 5.3). */
    sendText(text: string) {
      const mask = [0x12, 0x34, 0x56, 0x78];
      const payload = [...Buffer.from(text)].map((b, i) => b ^ (mask[i % 4] as number));
      socket.write(Buffer.from([0x81, 0x80 | payload.length, ...mask, ...payload]));
    },
    /** Bytes read so far, handshake and frame headers included. */
    received: () => bytes,
    resume: () => socket.resume(),
    destroy: () => socket.destroy(),
  };
}

/** What the fixture's /ws?tag= socket has sent and received (test/fixtures/modules/README.md). */
async function moduleSocket(tag: string) {
  const res = await fetch(`${url}/fx-good/ws-stats?tag=${tag}`);
  return (await res.json()) as { sent: number; received: number; closed: boolean };
}

/** Polls `read` until its value is above zero and has not changed for 300 ms; returns it. */
function stopsGrowing(what: string, read: () => number | Promise<number>) {
  let last = -1;
  let since = Date.now();
  return waitFor(what, async () => {
    const value = await read();
    if (value !== last) [last, since] = [value, Date.now()];
    return value > 0 && Date.now() - since >= 300 ? value : undefined;
  });
}

/** Samples the hub's resident memory (VmRSS) every 20 ms until `stop()`. */
function sampleHubRss() {
  const { pid } = JSON.parse(readFileSync(join(home, 'run', 'hub.json'), 'utf8')) as {
    pid: number;
  };
  const rss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
  const before = rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  // A failed test never calls stop(); this must not keep the run alive.
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return { before, peak: Math.max(peak, rss()) };
    },
  };
}

describe('path-routing proxy', () => {
  test('strips the mount path and keeps the query', async () => {
    const res = await fetch(`${url}/fx-good/echo/a/b?x=1&y=2`);
    expect(res.status).toBe(200);
    const seen = await echo(res);
    expect(seen.path).toBe('/echo/a/b');
    expect(seen.query).toBe('?x=1&y=2');
  });

  test('forwarding headers say what the hub saw; spoofed ones are replaced', async () => {
    const seen = await echo(
      await fetch(`${url}/fx-good/echo/h`, {
        headers: {
          'x-forwarded-for': '6.6.6.6',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
          forwarded: 'for=6.6.6.6',
        },
      }),
    );
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(url).host);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers.forwarded).toBe(`for=127.0.0.1;host="${new URL(url).host}";proto=http`);
  });

  test('the hub’s session and CSRF cookies never reach a module; other cookies do', async () => {
    const seen = await echo(
      await fetch(`${url}/fx-good/echo/c`, {
        headers: {
          cookie:
            'parachute_session=secret-session; theme=dark; parachute_csrf=secret-csrf; lang=en',
        },
      }),
    );
    expect(seen.headers.cookie).toBe('theme=dark; lang=en');
    const onlyHub = await echo(
      await fetch(`${url}/fx-good/echo/c`, {
        headers: { cookie: 'parachute_session=s; parachute_csrf=c' },
      }),
    );
    expect(onlyHub.headers.cookie).toBeUndefined();
  });

  test('a module cannot set the hub’s session or CSRF cookie; its own cookies pass', async () => {
    const setCookies = async (...cookies: string[]) => {
      const query = cookies.map((c) => `c=${encodeURIComponent(c)}`).join('&');
      const res = await fetch(`${url}/fx-good/set-cookie?${query}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      return res.headers.getSetCookie();
    };
    expect(
      await setCookies(
        'parachute_session=planted; Path=/; HttpOnly',
        'theme=light; Path=/',
        ' parachute_csrf =known; Path=/',
        'parachute_session',
        'lang=fr',
      ),
    ).toEqual(['theme=light; Path=/', 'lang=fr']);
    expect(await setCookies('parachute_csrf=x; Path=/')).toEqual([]);
    // Look-alike names are the module's own.
    expect(await setCookies('parachute_sessions=1', 'x_parachute_csrf=2')).toEqual([
      'parachute_sessions=1',
      'x_parachute_csrf=2',
    ]);
    // The operator is told which module tried, once.
    const warning = "parachute-fixture-good tried to set one of the hub's cookies";
    await waitFor('the hub to warn', () => (hubStderr().includes(warning) ? true : undefined));
    expect(hubStderr().split(warning).length - 1).toBe(1);
  });

  test('hop-by-hop headers, including those named in Connection, are not forwarded', async () => {
    const seen = await echo(
      await fetch(`${url}/fx-good/echo/hop`, {
        headers: {
          connection: 'keep-alive, x-hop',
          'x-hop': 'drop me',
          'x-keep': 'keep me',
          te: 'trailers',
        },
      }),
    );
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['x-keep']).toBe('keep me');
  });

  test('request bodies pass through, with the same header rules as GETs', async () => {
    const body = 'x'.repeat(200_000);
    const seen = await echo(
      await fetch(`${url}/fx-good/echo/post`, {
        method: 'POST',
        body,
        headers: {
          cookie: 'parachute_session=s; theme=dark',
          'x-forwarded-for': '6.6.6.6',
          connection: 'keep-alive, x-hop',
          'x-hop': 'drop me',
        },
      }),
    );
    expect(seen.method).toBe('POST');
    expect(seen.body?.length).toBe(body.length);
    expect(seen.headers.cookie).toBe('theme=dark');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-hop']).toBeUndefined();
  });

  test('a stopped module: 502 naming its state, JSON for API clients and HTML for browsers', async () => {
    expect((await call('POST', '/api/modules/fx-good/stop')).json.state).toBe('stopped');
    try {
      const json = await fetch(`${url}/fx-good/health`, {
        headers: { accept: 'application/json' },
      });
      expect(json.status).toBe(502);
      expect(await json.json()).toMatchObject({
        error: 'module_unavailable',
        state: 'stopped',
        module: 'parachute-fixture-good',
      });
      const html = await fetch(`${url}/fx-good/`, { headers: { accept: 'text/html' } });
      expect(html.status).toBe(502);
      expect(html.headers.get('content-type')).toContain('text/html');
      expect(await html.text()).toContain('parachute start parachute-fixture-good');
    } finally {
      await call('POST', '/api/modules/fx-good/start');
      await running(call, 'fx-good');
    }
  });

  test('WebSockets are bridged both ways for a module that allows them', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/fx-good/ws`);
    ws.binaryType = 'arraybuffer';
    const received: (string | ArrayBuffer)[] = [];
    ws.onmessage = (e) => received.push(e.data as string | ArrayBuffer);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('could not connect through the hub'));
    });
    // The module's side is open before the client's (hub/ws-bridge.ts): nothing to queue.
    ws.send('hello');
    ws.send(new Uint8Array([1, 2, 3]));
    const deadline = Date.now() + 5000;
    while (received.length < 2 && Date.now() < deadline) await Bun.sleep(5);
    expect(received[0]).toBe('echo: hello');
    expect([...new Uint8Array(received[1] as ArrayBuffer)]).toEqual([1, 2, 3]);
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (e) => resolve(e.code);
    });
    ws.close(1000, 'done');
    expect(await closed).toBe(1000);
  });

  test('the sub-protocol the client is told is the one the module chose', async () => {
    const both = await openWs('/fx-good/ws', ['fx.v1', 'fx.v2']);
    expect(both.opened).toBe(true);
    expect(both.ws.protocol).toBe('fx.v2');
    both.ws.close();
    await both.closed;
    // The module chose none of those offered: that handshake fails for a
    // browser (WHATWG WebSockets) as it does for the hub, rather than the client
    // being told it speaks `fx.v1`.
    const none = await openWs('/fx-good/ws', ['fx.v1']);
    expect(none.opened).toBe(false);
    // No protocol offered, none chosen.
    const plain = await openWs('/fx-good/ws');
    expect(plain.opened).toBe(true);
    expect(plain.ws.protocol).toBe('');
    plain.ws.close();
    await plain.closed;
  });

  test('a module refusing the upgrade makes the upgrade fail, not open then close', async () => {
    const res = await upgradeRequest('/fx-good/ws-refused');
    expect(res.status).toBe(502);
    const refused = await openWs('/fx-good/ws-refused');
    expect(refused.opened).toBe(false);
  });

  test('a module dropping its WebSocket closes the client with 1011, not a clean close', async () => {
    const { ws, opened, closed } = await openWs('/fx-good/ws');
    expect(opened).toBe(true);
    ws.send('terminate');
    expect((await closed).code).toBe(1011);
  });

  test('a WebSocket upgrade to a stopped module gets the 502 answer, not a hang', async () => {
    expect((await call('POST', '/api/modules/fx-good/stop')).json.state).toBe('stopped');
    try {
      const res = await upgradeRequest('/fx-good/ws');
      expect(res.status).toBe(502);
    } finally {
      await call('POST', '/api/modules/fx-good/start');
      await running(call, 'fx-good');
    }
  });

  test('a module flooding a WebSocket client that does not read is held back; the hub stays small', async () => {
    const flood = 256 * MiB;
    const memory = sampleHubRss();
    const client = await unreadWebSocket('/fx-good/ws?tag=flood-unread');
    try {
      client.sendText(`flood ${flood / MiB}`);
      // Backpressure reaches the module once the buffers on the way are
      // full; a hub that kept reading would take the whole flood.
      const heldAt = await stopsGrowing(
        'the module to be held back',
        async () => (await moduleSocket('flood-unread')).sent,
      );
      expect(heldAt).toBeLessThan(64 * MiB);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      // Nothing was dropped on the way: once the client reads, all of it comes.
      client.resume();
      await waitFor('the whole flood to reach the client', () =>
        client.received() >= flood ? true : undefined,
      );
    } finally {
      client.destroy();
    }
    await waitFor('the module’s side to close', async () =>
      (await moduleSocket('flood-unread')).closed ? true : undefined,
    );
    const { before, peak } = memory.stop();
    expect(peak - before).toBeLessThan(64 * MiB);
  });

  test('a WebSocket client flooding a module that does not read is held back; the hub stays small', async () => {
    const flood = 256 * MiB;
    const memory = sampleHubRss();
    const { ws, opened, closed } = await openWs('/fx-good/ws?tag=hold');
    expect(opened).toBe(true);
    const holding = new Promise((resolve) => {
      ws.onmessage = resolve;
    });
    ws.send('hold');
    await holding;
    const piece = new Uint8Array(MiB);
    let pushed = 0;
    // Sends whenever the client's own queue is short, as fast as the hub reads.
    const push = () => {
      while (pushed < flood && ws.bufferedAmount < MiB) {
        ws.send(piece);
        pushed += piece.length;
      }
      return pushed;
    };
    const heldAt = await stopsGrowing('the client to be held back', push);
    expect(heldAt).toBeLessThan(64 * MiB);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await fetch(`${url}/fx-good/ws-release?tag=hold`);
    const atModule = await waitFor('the whole flood to reach the module', async () => {
      push();
      const { received } = await moduleSocket('hold');
      return received >= flood ? received : undefined;
    });
    expect(atModule).toBe(flood);
    ws.close(1000, 'done');
    expect((await closed).code).toBe(1000);
    await waitFor('the module’s side to close', async () =>
      (await moduleSocket('hold')).closed ? true : undefined,
    );
    const { before, peak } = memory.stop();
    expect(peak - before).toBeLessThan(64 * MiB);
  });

  test('the hub’s own APIs refuse oversized bodies before reading them', async () => {
    const res = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      body: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('payload_too_large');
  });

  test('a request with a Host the hub cannot parse is refused, never sent to another address', async () => {
    const hits: string[] = [];
    const elsewhere = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        hits.push(request.url);
        return new Response('a loopback service the module never exposed');
      },
    });
    try {
      // With `Host: a@b` Bun hands over the raw request-target as request.url;
      // read as a URL, its `:yy/` is the end of an authority, and the path after
      // the mount became `@127.0.0.1:<port>/steal`, appended to the module's address.
      const answer = await rawHttp(
        `GET /x/fx-good/:yy/zzzzzzz@127.0.0.1:${elsewhere.port}/steal HTTP/1.1\r\nHost: a@b\r\nConnection: close\r\n\r\n`,
      );
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(hits).toEqual([]);
      const hubRoute = await rawHttp(
        'GET /health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
      );
      expect(hubRoute.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    } finally {
      elsewhere.stop(true);
    }
  });

  test('Forwarded quotes the host, so a Host header cannot add a `for` of its own', async () => {
    // Such a Host is not a host at all: refused before it reaches any module.
    const injected = await fetch(`${url}/fx-good/echo/fwd`, {
      headers: { host: 'a,for=6.6.6.6;by=x' },
    });
    expect(injected.status).toBe(400);
    const seen = await echo(await fetch(`${url}/fx-good/echo/fwd`));
    // RFC 7239 section 4: a value that is not a token (a port's `:`, `,`, `;`) is a quoted-string.
    expect(seen.headers.forwarded).toBe(`for=127.0.0.1;host="${new URL(url).host}";proto=http`);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  test('paths outside every mount stay the hub’s', async () => {
    expect((await fetch(`${url}/fx-goodness`)).status).toBe(404);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});

describe('streaming through the proxy', () => {
  test('server-sent events arrive as the module writes them, not batched', async () => {
    const res = await fetch(`${url}/fx-good/sse`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const readUntil = async (text: string) => {
      const deadline = Date.now() + 5000;
      while (!seen.includes(text)) {
        if (Date.now() > deadline) throw new Error(`never received "${text}"`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        seen += decoder.decode(value);
      }
    };
    // Event 1 must reach us while the module is still holding event 2.
    await readUntil('data: event 1');
    expect(seen).not.toContain('event 2');
    await fetch(`${url}/fx-good/sse-next`);
    await readUntil('data: event 2');
    await reader.cancel();
  });

  test('a 512 MiB upload and download pass through without the hub buffering them', async () => {
    const runtime = JSON.parse(await Bun.file(join(home, 'run', 'hub.json')).text()) as {
      pid: number;
    };
    const rss = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${runtime.pid}/status`, 'utf8'))?.[1]) *
      1024;
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 20);
    try {
      const size = 512 * 1024 * 1024;
      const piece = new Uint8Array(1024 * 1024).fill(121);
      let sent = 0;
      const upload = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close();
          controller.enqueue(piece);
          sent += piece.length;
        },
      });
      const up = await fetch(`${url}/fx-good/sink`, {
        method: 'POST',
        body: upload,
        duplex: 'half',
      } as RequestInit);
      const upText = await up.text();
      expect({ status: up.status, body: upText }).toEqual({
        status: 200,
        body: JSON.stringify({ bytes: size }),
      });

      const down = await fetch(`${url}/fx-good/blob?bytes=${size}`);
      let received = 0;
      for await (const chunk of down.body as ReadableStream<Uint8Array>) received += chunk.length;
      expect(received).toBe(size);
    } finally {
      clearInterval(sampler);
    }
    // Streaming keeps the hub's memory near flat; buffering would add the body's size.
    expect(peak - before).toBeLessThan(128 * 1024 * 1024);
  }, 120_000);
});
