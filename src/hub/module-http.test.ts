import { afterEach, describe, expect, test } from 'bun:test';
import type { Socket, TCPSocketListener } from 'bun';
import { waitFor } from '../../bench/lib.ts';
import { idleConnections, ModuleHttpError, type ModuleResponse, moduleGet } from './module-http.ts';

/** What a scripted module saw of one request. */
interface Seen {
  head: string;
  /** Which connection it came on (0, 1, ...) and how many came on that one before it. */
  connection: number;
  onConnection: number;
}

type Reply = (socket: Socket<Conn>, seen: Seen) => void | Promise<void>;
interface Conn {
  id: number;
  buf: string;
  count: number;
}

/**
 * A module on a real TCP port that answers each request with `reply`, so a
 * test can send any bytes an HTTP server might (or should not) send.
 */
function scriptedModule(reply: Reply) {
  const seen: Seen[] = [];
  let connections = 0;
  let closed = 0;
  const server: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = { id: connections++, buf: '', count: 0 };
      },
      data(socket, data) {
        const c = socket.data;
        c.buf += data.toString('latin1');
        for (let end = c.buf.indexOf('\r\n\r\n'); end !== -1; end = c.buf.indexOf('\r\n\r\n')) {
          const entry = { head: c.buf.slice(0, end), connection: c.id, onConnection: c.count++ };
          c.buf = c.buf.slice(end + 4);
          seen.push(entry);
          void reply(socket, entry);
        }
      },
      close() {
        closed++;
      },
    },
  });
  servers.push(server);
  return {
    port: server.port,
    seen,
    connections: () => connections,
    closed: () => closed,
  };
}

const servers: TCPSocketListener<Conn>[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

async function text(res: ModuleResponse): Promise<string> {
  if (res.body === null) return '';
  return new Response(res.body as BodyInit).text();
}

const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${extra}content-length: ${body.length}\r\n\r\n${body}`;

/** Writes `bytes` one at a time, each in its own turn of the event loop. */
async function trickle(socket: Socket<Conn>, bytes: string) {
  for (const ch of bytes) {
    socket.write(ch);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("the hub's HTTP/1.1 client for modules", () => {
  test('requests in sequence share one connection, and the module gets each request once', async () => {
    const mod = scriptedModule((socket, seen) => {
      socket.write(ok(`answer ${seen.onConnection}`));
    });
    for (let i = 0; i < 3; i++) {
      const res = await moduleGet(mod.port, `/n/${i}?q=${i}`, 'x-test: yes\r\n');
      expect(res.status).toBe(200);
      expect(await text(res)).toBe(`answer ${i}`);
    }
    expect(mod.connections()).toBe(1);
    expect(mod.seen.map((s) => s.head.split('\r\n')[0])).toEqual([
      'GET /n/0?q=0 HTTP/1.1',
      'GET /n/1?q=1 HTTP/1.1',
      'GET /n/2?q=2 HTTP/1.1',
    ]);
    expect(mod.seen[0]?.head).toContain(`\r\nhost: 127.0.0.1:${mod.port}\r\nx-test: yes`);
  });

  test('requests at the same time each get their own connection and their own answer', async () => {
    const mod = scriptedModule(async (socket, seen) => {
      const path = seen.head.split(' ')[1] as string;
      // Later requests answer first, so answers cannot line up by accident.
      await waitFor('every request to arrive', () => mod.seen.length >= 8 || undefined);
      socket.write(ok(`for ${path}`));
    });
    const paths = Array.from({ length: 8 }, (_, i) => `/p${i}`);
    const bodies = await Promise.all(
      paths.map(async (p) => text(await moduleGet(mod.port, p, ''))),
    );
    expect(bodies).toEqual(paths.map((p) => `for ${p}`));
    expect(mod.connections()).toBe(8);
  });

  test('chunked bodies split at every byte, with extensions and trailers, then the connection is reused', async () => {
    const mod = scriptedModule(async (socket, seen) => {
      if (seen.onConnection === 0) {
        await trickle(
          socket,
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n',
        );
      } else {
        socket.write(ok('second'));
      }
    });
    const first = await moduleGet(mod.port, '/chunked', '');
    expect(await text(first)).toBe('hello, world');
    expect(await text(await moduleGet(mod.port, '/again', ''))).toBe('second');
    expect(mod.connections()).toBe(1);
  });

  test('1xx answers before the real one are skipped', async () => {
    const mod = scriptedModule((socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n');
      socket.write(ok('final'));
    });
    const res = await moduleGet(mod.port, '/', '');
    expect(res.status).toBe(200);
    expect(await text(res)).toBe('final');
  });

  test('204 and 304 carry no body, and their connection is reused', async () => {
    const mod = scriptedModule((socket, seen) => {
      socket.write(
        seen.onConnection === 0
          ? 'HTTP/1.1 204 No Content\r\n\r\n'
          : 'HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncontent-length: 1234\r\n\r\n',
      );
    });
    const none = await moduleGet(mod.port, '/a', '');
    expect(none.status).toBe(204);
    expect(none.body).toBeNull();
    const notModified = await moduleGet(mod.port, '/b', '');
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBeNull();
    expect(notModified.headers).toContainEqual(['etag', '"v1"']);
    expect(mod.connections()).toBe(1);
  });

  test('a body that ends when the module closes is read to the end; that connection is not reused', async () => {
    const mod = scriptedModule(async (socket, seen) => {
      if (seen.connection === 0) {
        await trickle(socket, 'HTTP/1.1 200 OK\r\n\r\nuntil the end');
        socket.end();
      } else {
        socket.write(ok('fresh'));
      }
    });
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('until the end');
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('fresh');
    expect(mod.connections()).toBe(2);
  });

  test('answers with Connection: close, and HTTP/1.0 answers, are not reused', async () => {
    const mod = scriptedModule((socket, seen) => {
      if (seen.connection === 0) socket.write(ok('closing', 'connection: close\r\n'));
      else if (seen.connection === 1) socket.write(ok('old').replace('HTTP/1.1', 'HTTP/1.0'));
      else socket.write(ok('third'));
    });
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('closing');
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('old');
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('third');
    expect(mod.connections()).toBe(3);
  });

  test('bytes past the declared length are never read as the next answer', async () => {
    const mod = scriptedModule((socket, seen) => {
      socket.write(
        seen.connection === 0
          ? `${ok('short')}HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled`
          : ok('honest'),
      );
    });
    expect(await text(await moduleGet(mod.port, '/first', ''))).toBe('short');
    expect(await text(await moduleGet(mod.port, '/second', ''))).toBe('honest');
    expect(mod.connections()).toBe(2);
  });

  test('bytes a module sends on an idle connection close it; no later request sees them', async () => {
    const mod = scriptedModule(async (socket, seen) => {
      if (seen.connection > 0) {
        socket.write(ok('clean'));
        return;
      }
      socket.write(ok('first'));
      // Once the hub has the whole answer (and pooled the connection), more bytes.
      await waitFor('the first answer to be read', () => firstRead || undefined);
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nstolen');
    });
    let firstRead = false;
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('first');
    firstRead = true;
    await waitFor('the hub to close the connection', () => mod.closed() >= 1 || undefined);
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('clean');
    expect(mod.connections()).toBe(2);
  });

  test('a pooled connection the module closed unanswered is replaced, and the request retried once', async () => {
    const mod = scriptedModule((socket, seen) => {
      // As a module whose keep-alive timeout ran out just as the request came.
      if (seen.connection === 0 && seen.onConnection === 1) socket.terminate();
      else socket.write(ok(`on ${seen.connection}`));
    });
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('on 0');
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('on 1');
    expect(mod.connections()).toBe(2);
  });

  test('idle connections the module closes leave the pool at once', async () => {
    const open: Socket<Conn>[] = [];
    const mod = scriptedModule((socket) => {
      open.push(socket);
      socket.write(ok('ok'));
    });
    await Promise.all([1, 2, 3].map(async () => text(await moduleGet(mod.port, '/', ''))));
    expect(idleConnections(mod.port)).toBe(3);
    for (const socket of open) socket.end();
    await waitFor('the pool to empty', () => idleConnections(mod.port) === 0 || undefined);
  });

  test('a new connection closed unanswered is an error, not retried', async () => {
    const mod = scriptedModule((socket) => socket.terminate());
    await expect(moduleGet(mod.port, '/', '')).rejects.toBeInstanceOf(ModuleHttpError);
    expect(mod.seen.length).toBe(1);
  });

  test('a module that is not listening is an error', async () => {
    const mod = scriptedModule(() => {});
    const port = mod.port;
    for (const server of servers.splice(0)) server.stop(true);
    await expect(moduleGet(port, '/', '')).rejects.toBeInstanceOf(ModuleHttpError);
  });

  test.each([
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    [
      'two different lengths',
      'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello',
    ],
    ['a length that is not a number', 'HTTP/1.1 200 OK\r\ncontent-length: 5x\r\n\r\nhello'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n'],
    [
      'a transfer coding it would have to decode',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n',
    ],
    ['101 to a plain GET', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'],
    ['a head over 64 KiB', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}`],
  ])('an answer with %s is an error, and its connection is closed', async (_, answer) => {
    const mod = scriptedModule((socket) => {
      socket.write(answer);
    });
    await expect(moduleGet(mod.port, '/', '')).rejects.toBeInstanceOf(ModuleHttpError);
    await waitFor('the connection to be closed', () => mod.closed() >= 1 || undefined);
  });

  test('an invalid chunk size fails the body mid-stream', async () => {
    const mod = scriptedModule((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n');
    });
    const res = await moduleGet(mod.port, '/', '');
    await expect(text(res)).rejects.toThrow(/chunk size/);
  });

  test('a module that stops mid-body fails the body instead of ending it early', async () => {
    const mod = scriptedModule((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nonly this');
      socket.end();
    });
    const res = await moduleGet(mod.port, '/', '');
    await expect(text(res)).rejects.toThrow(/closed the connection/);
  });

  test('a bare LF between header lines is accepted', async () => {
    const mod = scriptedModule((socket) => {
      socket.write('HTTP/1.1 200 OK\ncontent-length: 2\n\nok');
    });
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('ok');
  });

  test('a streamed body read slowly holds the module back, then its connection serves the next request', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const mod = scriptedModule((socket, seen) => {
      socket.write(seen.onConnection === 0 ? ok(big) : ok('next'));
    });
    const res = await moduleGet(mod.port, '/big', '');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      got += r.value.byteLength;
      // Slower than the module writes, so the hub pauses it, at times on its last bytes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(got).toBe(big.length);
    expect(await text(await moduleGet(mod.port, '/next', ''))).toBe('next');
    expect(mod.connections()).toBe(1);
  });

  test('a visitor cancelling a streamed body closes its connection to the module', async () => {
    const mod = scriptedModule((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n');
    });
    const res = await moduleGet(mod.port, '/', '');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    await reader.cancel();
    await waitFor('the module to see the close', () => mod.closed() >= 1 || undefined);
  });

  test('a visitor cancelling an answer already all read in leaves the next request on that connection alone', async () => {
    let answerNext: (() => void) | undefined;
    const mod = scriptedModule((socket, seen) => {
      // Streamed (over 64 KiB) yet under what a stream holds unread (256 KiB): all of it comes in.
      if (seen.onConnection === 0) socket.write(ok('x'.repeat(100 * 1024)));
      else answerNext = () => socket.write(ok('next'));
    });
    const first = await moduleGet(mod.port, '/big', '');
    await waitFor('the answer to be read in', () => idleConnections(mod.port) === 1 || undefined);
    const second = moduleGet(mod.port, '/next', '');
    await waitFor('the second request to arrive', () => answerNext);
    await (first.body as ReadableStream<Uint8Array>).cancel();
    answerNext?.();
    expect(await text(await second)).toBe('next');
    expect(mod.connections()).toBe(1);
  });

  test('a module silent for longer than allowed fails the request, before its head or mid-body', async () => {
    const mod = scriptedModule((socket, seen) => {
      // Never answers /mute; answers /half with a head and a first chunk, then nothing.
      if (seen.head.startsWith('GET /half')) {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nsome\r\n');
      }
    });
    const mute = moduleGet(mod.port, '/mute', '', 1);
    const half = await moduleGet(mod.port, '/half', '', 1);
    await expect(mute).rejects.toThrow(/sent nothing for 1 s/);
    await expect(text(half)).rejects.toThrow(/sent nothing for 1 s/);
    await waitFor('both connections to be closed', () => mod.closed() >= 2 || undefined);
  });

  test('a streamed answer on a reused connection outlives the idle timeout', async () => {
    const mod = scriptedModule((socket, seen) => {
      if (seen.onConnection === 0) {
        socket.write(ok('warm-up'));
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      // Quiet for longer than an idle pooled connection may stay open (2 s, which Bun's
      // socket timers, firing in 4 s steps, make at most about 4).
      setTimeout(() => socket.write('4\r\nlate\r\n0\r\n\r\n'), 5000);
    });
    expect(await text(await moduleGet(mod.port, '/', ''))).toBe('warm-up');
    const res = await moduleGet(mod.port, '/slow', '');
    expect(await text(res)).toBe('late');
    expect(mod.connections()).toBe(1);
  });
});
