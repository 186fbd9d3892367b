// Proxy framing (modules.md section 7), attacked through the real hub: two
// visitors on raw sockets, one after the other, and a scripted module on
// its own port that the hub routes to from services.json. Each visitor must
// get the answer to its own request, whatever the other one sent and
// whatever the module writes out of turn.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { trackHubs } from './helpers/modules.ts';
import { ok, type Reply, scriptedModule, stopScriptedModules } from './helpers/scripted-module.ts';

const hubs = trackHubs();
let url: string;
/** A hub that trusts 127.0.0.1 as a reverse proxy in front of it (PARACHUTE_TRUSTED_PROXIES). */
let proxiedUrl: string;

/** Two scripted modules, each answering with whatever the running test sets. */
let replyNow: Reply = () => {};
const framed = scriptedModule((socket, seen) => replyNow(socket, seen));
/** Answers the first request on a connection, and again, late, before the next one. */
const late = scriptedModule(async (socket, seen) => {
  await seen.whole;
  if (seen.onConnection > 0) socket.write(ok('late answer to the first visitor'));
  socket.write(ok(`for ${pathOf(seen.head)}`));
});
/** Answers with a chunked stream: one chunk every 500 ms for 5 s, longer than a pool lives idle. */
const trickle = scriptedModule(async (socket) => {
  socket.write(
    'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n',
  );
  for (let i = 0; i < 10; i++) {
    const event = `data: ${i}\n\n`;
    socket.write(`${event.length.toString(16)}\r\n${event}\r\n`);
    await Bun.sleep(500);
  }
  socket.write('0\r\n\r\n');
});
afterAll(stopScriptedModules);

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-proxy-framing-'));
  // Rows the modules wrote for themselves (the hub does not run them): routed from boot.
  const row = (name: string, port: number) => ({
    name,
    port,
    paths: [`/${name}`],
    health: '/',
    stripPrefix: true,
    version: '1.0.0',
  });
  const services = [
    row('fx-scripted', framed.port),
    row('fx-late', late.port),
    row('fx-trickle', trickle.port),
  ];
  writeFileSync(join(home, 'services.json'), JSON.stringify({ services }));
  const started = await freshHub({}, home);
  hubs.push(started.hub);
  url = started.url;
  const proxiedHome = mkdtempSync(join(tmpdir(), 'parachute-proxy-framing-'));
  writeFileSync(join(proxiedHome, 'services.json'), JSON.stringify({ services }));
  const proxied = await freshHub({ PARACHUTE_TRUSTED_PROXIES: '127.0.0.1' }, proxiedHome);
  hubs.push(proxied.hub);
  proxiedUrl = proxied.url;
}, 60_000);

/** The path of a request the module saw. */
const pathOf = (head: string) => head.split(' ')[1] as string;

/** How long a visitor waits for the hub's answer before the test fails. */
const ANSWER_DEADLINE_MS = 5000;

/**
 * Sends `bytes` on a fresh connection to the hub, as a visitor with any
 * client could, and resolves with the status and body of the hub's first
 * answer on it (framed by Content-Length, as the hub frames these answers).
 */
function visit(bytes: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no whole answer within ${ANSWER_DEADLINE_MS} ms; got ${JSON.stringify(answer)}`),
      );
    }, ANSWER_DEADLINE_MS);
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      answer += chunk;
      const end = answer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(answer.slice(0, end))?.[1]);
      const body = answer.slice(end + 4);
      if (body.length < length) return;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ status: Number(answer.slice(9, 12)), body: body.slice(0, length) });
    });
  });
}

/**
 * A visitor that keeps its connection to the hub open and asks one request
 * at a time on it, as a browser does with keep-alive.
 */
function keepAliveVisitor(hub = url) {
  const { hostname, port } = new URL(hub);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('latin1');
  let buffered = '';
  socket.on('data', (chunk: string) => {
    buffered += chunk;
  });
  return {
    async ask(bytes: string): Promise<{ status: number; body: string }> {
      socket.write(bytes);
      const answer = await waitFor(
        'the answer on the kept-alive connection',
        () => {
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) return undefined;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1]);
          if (buffered.length < end + 4 + length) return undefined;
          const whole = buffered.slice(0, end + 4 + length);
          buffered = buffered.slice(whole.length);
          return { status: Number(whole.slice(9, 12)), body: whole.slice(end + 4) };
        },
        ANSWER_DEADLINE_MS,
      );
      return answer;
    },
    close: () => socket.destroy(),
  };
}

/** A request's bytes: `headers` are whole lines, `body` follows the blank line as it is. */
function request(
  method: string,
  path: string,
  { headers = '', body = '', mount = '/fx-scripted' } = {},
): string {
  return `${method} ${mount}${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n${body}`;
}

describe('a visitor cannot change what the module reads of another visitor’s request', () => {
  test.each([
    ['Content-Length', 'Content-Length: 5\r\n', 'hello'],
    ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'],
  ])(
    'a GET with a body (%s) is refused, and the next visitor gets its own answer',
    async (_, framing, body) => {
      // Answers at once, before any body, as many servers do.
      replyNow = (socket, seen) => void socket.write(ok(`for ${pathOf(seen.head)}`));
      const before = framed.seen.length;
      const attacker = await visit(request('GET', '/attacker', { headers: framing, body }));
      const victim = await visit(request('GET', '/victim'));
      expect(victim).toEqual({ status: 200, body: 'for /victim' });
      expect(attacker.status).toBe(400);
      expect(JSON.parse(attacker.body).error).toBe('invalid_request');
      // The module saw the victim's request, whole, and nothing of the attacker's.
      expect(framed.requestLines().slice(before)).toEqual(['GET /victim HTTP/1.1']);
    },
  );

  test('a POST body reaches the module exactly as the visitor sent it', async () => {
    replyNow = async (socket, seen) => {
      await seen.whole;
      socket.write(ok(`${seen.body.length} bytes for ${pathOf(seen.head)}`));
    };
    const before = framed.seen.length;
    const sent = await visit(
      request('POST', '/upload', { headers: 'Content-Length: 11\r\n', body: 'hello world' }),
    );
    expect(sent).toEqual({ status: 200, body: '11 bytes for /upload' });
    expect(framed.seen.slice(before).map((s) => s.body)).toEqual(['hello world']);
  });
});

describe('bytes a module writes out of turn never reach another visitor', () => {
  test.each(['GET', 'POST'])(
    'a late second answer to one %s is not the next visitor’s answer',
    async (method) => {
      // The late answer comes just before the next request on the same
      // connection is answered: the latest it can come, and what no pool can
      // tell from a real answer.
      const withBody = { headers: 'Content-Length: 1\r\n', body: 'x', mount: '/fx-late' };
      const options = method === 'POST' ? withBody : { mount: '/fx-late' };
      const first = await visit(request(method, '/first', options));
      expect(first).toEqual({ status: 200, body: 'for /first' });
      const second = await visit(request(method, '/second', options));
      expect(second).toEqual({ status: 200, body: 'for /second' });
    },
  );

  test('one visitor connection keeps one module connection; another visitor never shares it; idle ones close', async () => {
    replyNow = (socket, seen) => void socket.write(ok(`for ${pathOf(seen.head)}`));
    const before = framed.seen.length;
    const closedBefore = framed.closed();
    const a = keepAliveVisitor();
    const b = keepAliveVisitor();
    try {
      expect((await a.ask(request('GET', '/a1'))).body).toBe('for /a1');
      expect((await b.ask(request('GET', '/b1'))).body).toBe('for /b1');
      expect((await a.ask(request('GET', '/a2'))).body).toBe('for /a2');
      expect((await b.ask(request('GET', '/b2'))).body).toBe('for /b2');
    } finally {
      a.close();
      b.close();
    }
    const seen = framed.seen.slice(before);
    const connectionOf = (path: string) => seen.find((s) => pathOf(s.head) === path)?.connection;
    // Each visitor's requests went over one module connection, kept alive...
    expect(connectionOf('/a1')).toBe(connectionOf('/a2'));
    expect(connectionOf('/b1')).toBe(connectionOf('/b2'));
    // ...and never over the other visitor's.
    expect(connectionOf('/a1')).not.toBe(connectionOf('/b1'));
    // Visitor connections that went quiet give theirs back within seconds.
    await waitFor(
      'the idle module connections to close',
      () => framed.closed() - closedBefore >= 2 || undefined,
      15_000,
    );
  }, 30_000);
});

describe('a reverse proxy’s connection carries many visitors', () => {
  test('a late answer to one visitor behind a trusted proxy never reaches the next one on its connection', async () => {
    // Caddy, nginx and the Fly and Render edges keep connections to the hub
    // open and send any visitor's request on any of them.
    const edge = keepAliveVisitor(proxiedUrl);
    try {
      const forVisitor = (ip: string, path: string) =>
        request('GET', path, { headers: `X-Forwarded-For: ${ip}\r\n`, mount: '/fx-late' });
      const first = await edge.ask(forVisitor('198.51.100.1', '/first'));
      expect(first).toEqual({ status: 200, body: 'for /first' });
      const second = await edge.ask(forVisitor('198.51.100.2', '/second'));
      expect(second).toEqual({ status: 200, body: 'for /second' });
    } finally {
      edge.close();
    }
  });
});

describe('a visitor connection’s pool never cuts an answer', () => {
  test('a stream lasting longer than a pool lives idle keeps flowing to its end', async () => {
    const res = await fetch(`${url}/fx-trickle/events`);
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as ReadableStream<Uint8Array>) text += decoder.decode(chunk);
    expect(text).toBe(Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(''));
  }, 20_000);
});
