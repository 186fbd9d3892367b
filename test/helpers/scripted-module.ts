import type { Socket, TCPSocketListener } from 'bun';

/** What a scripted module saw of one request. */
export interface Seen {
  /** The request line and header lines, without the blank line. */
  head: string;
  /** The body, as its Content-Length framed it ('' without one), as far as it came. */
  body: string;
  /** Settles once all of the body is in. */
  whole: Promise<void>;
  /** Which connection it came on (0, 1, ...) and how many came on that one before it. */
  connection: number;
  onConnection: number;
}

/** Answers one request: writes whatever bytes the test wants on the socket. */
export type Reply = (socket: Socket<Conn>, seen: Seen) => void | Promise<void>;

export interface Conn {
  id: number;
  buf: string;
  count: number;
  /** Body bytes still owed by the request being read, and that request. */
  bodyLeft: number;
  current: Seen | null;
  /** Settles `current.whole`. */
  bodyDone: () => void;
}

const listeners: TCPSocketListener<Conn>[] = [];

/**
 * A module on a real TCP port that answers each request with `reply`, so a
 * test can send any bytes an HTTP server might (or should not) send. It
 * frames requests the way HTTP servers do (RFC 9112 section 6.3: a head,
 * then as many body bytes as Content-Length says), and `reply` runs as soon
 * as the head is in, as many servers answer, before the body (await
 * `seen.whole` to answer after it): a request that announces a body it does
 * not send makes it read the next request's bytes as that body. Stop every one with stopScriptedModules() after each test.
 */
export function scriptedModule(reply: Reply) {
  const seen: Seen[] = [];
  let connections = 0;
  let closed = 0;
  const server = Bun.listen<Conn>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = {
          id: connections++,
          buf: '',
          count: 0,
          bodyLeft: 0,
          current: null,
          bodyDone: () => {},
        };
      },
      data(socket, data) {
        const c = socket.data;
        c.buf += data.toString('latin1');
        for (;;) {
          if (c.current && c.bodyLeft > 0) {
            const part = c.buf.slice(0, c.bodyLeft);
            c.current.body += part;
            c.bodyLeft -= part.length;
            c.buf = c.buf.slice(part.length);
            if (c.bodyLeft > 0) return;
            c.bodyDone();
          }
          const end = c.buf.indexOf('\r\n\r\n');
          if (end === -1) return;
          const head = c.buf.slice(0, end);
          c.buf = c.buf.slice(end + 4);
          const whole = Promise.withResolvers<void>();
          const entry = {
            head,
            body: '',
            whole: whole.promise,
            connection: c.id,
            onConnection: c.count++,
          };
          c.current = entry;
          c.bodyDone = whole.resolve;
          c.bodyLeft = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (c.bodyLeft === 0) whole.resolve();
          seen.push(entry);
          void reply(socket, entry);
        }
      },
      close() {
        closed++;
      },
    },
  });
  listeners.push(server);
  return {
    port: server.port,
    seen,
    /** The request lines it saw, in order. */
    requestLines: () => seen.map((s) => s.head.split('\r\n')[0]),
    connections: () => connections,
    closed: () => closed,
  };
}

/** Stops every scripted module started so far (for afterEach/afterAll). */
export function stopScriptedModules(): void {
  for (const server of listeners.splice(0)) server.stop(true);
}

/** A complete 200 answer with a text body framed by Content-Length. */
export const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${extra}content-length: ${body.length}\r\n\r\n${body}`;
