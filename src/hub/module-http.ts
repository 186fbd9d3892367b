import type { Socket } from 'bun';

/**
 * A keep-alive HTTP/1.1 client for the proxy's commonest request: a GET
 * without a body, to a module on loopback. Bun's fetch hands every request to
 * its own HTTP thread and back; over pooled sockets on the JS thread, small
 * GETs through the hub cost about a sixth less CPU (bench/proxy.ts). Every
 * other request (a body, another method, a WebSocket) goes through fetch.
 *
 * One request at a time per connection, never pipelined. A connection goes
 * back to the pool only after a response framed exactly by Content-Length or
 * by chunked encoding, with no byte more: anything else the module sends
 * (a malformed head, a byte too many, a byte while idle) closes it, so one
 * visitor's request can never be answered with bytes meant for another.
 */

/** The module's answer: status, raw header lines (names lower-cased), and the body. */
export interface ModuleResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  /** Bytes when the whole body was read (small, sized), a stream otherwise, null for 204/304. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

/** The module refused or dropped the connection, or (`invalidAnswer`) sent something that is not HTTP/1.1. */
export class ModuleHttpError extends Error {
  override name = 'ModuleHttpError';
  constructor(
    message: string,
    readonly invalidAnswer = false,
  ) {
    super(message);
  }
}

/** A sized body up to this is read whole, then sent in one write; larger or unsized ones stream. */
const WHOLE_BODY_LIMIT = 64 * 1024;
/** The most a response head (or a chunk-size line) may take before the module is judged broken. */
const HEAD_LIMIT = 64 * 1024;
/**
 * Idle connections close after this: well under the keep-alive timeouts of
 * the servers modules use (Node 5 s, Bun 10 s), so the module rarely closes
 * one under a request; when it does, the request is retried once.
 */
const IDLE_SECONDS = 2;
/**
 * How long a module may send nothing while a request waits on it (for its
 * answer, or the rest of a body) before the hub gives up: Bun's fetch default,
 * so a wedged module cannot pile up connections. Time the visitor is not
 * reading does not count.
 */
export const MODULE_SILENCE_SECONDS = 300;
/** Idle connections kept per module port; more are closed once their response is done. */
const IDLE_PER_PORT = 128;
/** A stream holds this much unread body before the module's socket is paused. */
const STREAM_HIGH_WATER = 256 * 1024;

type Phase =
  | 'idle'
  | 'head'
  | 'sized'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end'
  | 'trailers'
  | 'until-close'
  | 'done'
  | 'dead';

interface Exchange {
  /** How long the module may stay silent on this request (MODULE_SILENCE_SECONDS). */
  silenceMs: number;
  resolve(response: ModuleResponse): void;
  reject(error: Error): void;
  /** Called instead of reject when a pooled connection closed before answering. */
  retry?: () => void;
}

interface Connection {
  port: number;
  phase: Phase;
  exchange: Exchange | null;
  /** Any byte of the answer arrived (a closed connection after that is not retried). */
  answered: boolean;
  /** When the module last sent a byte (performance.now()), and how long it may stay silent. */
  lastByteAt: number;
  silenceMs: number;
  /** Reading is paused because the visitor is not reading. */
  paused: boolean;
  /** Bytes not yet parsed: part of a head or of a chunk-size line. */
  pending: Buffer | null;
  /** Body bytes left in a sized body or the current chunk. */
  remaining: number;
  keepAlive: boolean;
  /** The head of the answer being read, until it is handed over. */
  head: Omit<ModuleResponse, 'body'> | null;
  /** A whole body being collected. */
  chunks: Buffer[] | null;
  /** A streamed body's controller. */
  stream: ReadableStreamDefaultController<Uint8Array> | null;
  /** Request bytes the socket did not take yet. */
  unsent: Uint8Array | null;
}

const idle = new Map<number, Socket<Connection>[]>();
const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([^\r\n]*))?$/;
const LINE_END = /\r?\n/;
const CHUNK_SIZE = /^[0-9a-fA-F]{1,12}$/;
const DIGITS = /^\d{1,15}$/;

/**
 * Sends `GET target` with `headerLines` (each `name: value\r\n`, Host added
 * here) to the module on `port` and resolves with its answer's head; the body
 * follows as described on ModuleResponse. Rejects with ModuleHttpError if the
 * module cannot be reached or breaks HTTP before its head is complete.
 */
export function moduleGet(
  port: number,
  target: string,
  headerLines: string,
  silenceSeconds = MODULE_SILENCE_SECONDS,
): Promise<ModuleResponse> {
  const request = Buffer.from(
    `GET ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headerLines}\r\n`,
    'latin1',
  );
  return new Promise((resolve, reject) => {
    const exchange: Exchange = { silenceMs: silenceSeconds * 1000, resolve, reject };
    const pooled = takeIdle(port);
    if (pooled) {
      // A pooled connection the module closed meanwhile: one more try on a new one.
      exchange.retry = () => {
        exchange.retry = undefined;
        void openAndSend(port, request, exchange);
      };
      send(pooled, request, exchange);
    } else {
      void openAndSend(port, request, exchange);
    }
  });
}

/** How many idle connections to the module on `port` the pool holds (for tests and diagnostics). */
export function idleConnections(port: number): number {
  return idle.get(port)?.length ?? 0;
}

function takeIdle(port: number): Socket<Connection> | undefined {
  const list = idle.get(port);
  while (list && list.length > 0) {
    const socket = list.pop() as Socket<Connection>;
    if (socket.data.phase === 'idle' && socket.readyState > 0) return socket;
  }
  return undefined;
}

async function openAndSend(port: number, request: Uint8Array, exchange: Exchange): Promise<void> {
  let socket: Socket<Connection>;
  try {
    socket = await Bun.connect<Connection>({
      hostname: '127.0.0.1',
      port,
      data: newConnection(port),
      socket: handlers,
    });
  } catch (error) {
    exchange.reject(
      new ModuleHttpError(`could not connect to 127.0.0.1:${port}: ${String(error)}`),
    );
    return;
  }
  socket.setNoDelay(true);
  send(socket, request, exchange);
}

function newConnection(port: number): Connection {
  return {
    port,
    phase: 'idle',
    exchange: null,
    answered: false,
    lastByteAt: 0,
    silenceMs: 0,
    paused: false,
    pending: null,
    remaining: 0,
    keepAlive: false,
    head: null,
    chunks: null,
    stream: null,
    unsent: null,
  };
}

function send(socket: Socket<Connection>, request: Uint8Array, exchange: Exchange): void {
  const c = socket.data;
  c.phase = 'head';
  c.exchange = exchange;
  c.answered = false;
  c.lastByteAt = performance.now();
  c.silenceMs = exchange.silenceMs;
  socket.timeout(Math.ceil(exchange.silenceMs / 1000));
  socket.ref();
  const written = socket.write(request);
  if (written < request.length) c.unsent = request.subarray(Math.max(written, 0));
}

const handlers = {
  data(socket: Socket<Connection>, data: Buffer) {
    read(socket, data);
  },
  drain(socket: Socket<Connection>) {
    const c = socket.data;
    if (!c.unsent) return;
    const written = socket.write(c.unsent);
    c.unsent = written < c.unsent.length ? c.unsent.subarray(Math.max(written, 0)) : null;
  },
  // Bun calls this once per timeout(seconds), whatever arrived meanwhile, and leaves the socket open.
  timeout(socket: Socket<Connection>) {
    const c = socket.data;
    if (c.phase === 'idle') {
      retire(socket);
      return;
    }
    if (c.phase === 'dead' || c.phase === 'done') return;
    const quiet = c.paused ? 0 : performance.now() - c.lastByteAt;
    if (quiet < c.silenceMs) {
      socket.timeout(Math.ceil((c.silenceMs - quiet) / 1000));
      return;
    }
    fail(
      socket,
      new ModuleHttpError(
        `the module on port ${c.port} sent nothing for ${c.silenceMs / 1000} s mid-answer`,
      ),
    );
    retire(socket);
  },
  close(socket: Socket<Connection>) {
    closed(socket);
  },
  error(socket: Socket<Connection>) {
    closed(socket);
  },
};

/** Parses what the module sent, as far as it goes. */
function read(socket: Socket<Connection>, data: Buffer): void {
  const c = socket.data;
  if (c.phase === 'idle' || c.phase === 'done' || c.phase === 'dead') {
    broken(socket, 'sent bytes while no request was waiting');
    return;
  }
  c.answered = true;
  c.lastByteAt = performance.now();
  const buf = c.pending ? Buffer.concat([c.pending, data]) : data;
  c.pending = null;
  let at = 0;
  while (at < buf.length) {
    switch (c.phase) {
      case 'head': {
        // RFC 9112 §2.2: a bare LF may end lines; some small servers send them.
        let end = buf.indexOf(CRLFCRLF, at);
        let separator = 4;
        const bare = buf.indexOf(LFLF, at);
        if (bare !== -1 && (end === -1 || bare < end)) {
          end = bare;
          separator = 2;
        }
        if (end === -1) {
          if (buf.length - at > HEAD_LIMIT) {
            broken(socket, 'sent a response head over 64 KiB');
            return;
          }
          c.pending = buf.subarray(at);
          return;
        }
        const problem = parseHead(socket, buf.toString('latin1', at, end));
        if (problem) {
          broken(socket, problem);
          return;
        }
        at = end + separator;
        break;
      }
      case 'sized':
      case 'chunk-data': {
        const n = Math.min(c.remaining, buf.length - at);
        if (!deliver(socket, buf.subarray(at, at + n))) return;
        at += n;
        c.remaining -= n;
        if (c.remaining === 0) {
          if (c.phase === 'sized') finish(socket);
          else c.phase = 'chunk-end';
        }
        break;
      }
      case 'chunk-size': {
        const eol = lineEnd(socket, buf, at);
        if (eol === -1) return;
        const line = buf.toString('latin1', at, eol);
        at = eol + 2;
        const semicolon = line.indexOf(';');
        const hex = (semicolon === -1 ? line : line.slice(0, semicolon)).trim();
        if (!CHUNK_SIZE.test(hex)) {
          broken(socket, 'sent an invalid chunk size');
          return;
        }
        c.remaining = Number.parseInt(hex, 16);
        c.phase = c.remaining === 0 ? 'trailers' : 'chunk-data';
        break;
      }
      case 'chunk-end': {
        if (buf.length - at < 2) {
          c.pending = buf.subarray(at);
          return;
        }
        if (buf[at] !== 13 || buf[at + 1] !== 10) {
          broken(socket, 'sent a chunk without its CRLF');
          return;
        }
        at += 2;
        c.phase = 'chunk-size';
        break;
      }
      case 'trailers': {
        // Trailer fields are not passed on (the answer's head is already out).
        const eol = lineEnd(socket, buf, at);
        if (eol === -1) return;
        const empty = eol === at;
        at = eol + 2;
        if (empty) finish(socket);
        break;
      }
      case 'until-close': {
        if (!deliver(socket, at === 0 ? buf : buf.subarray(at))) return;
        at = buf.length;
        break;
      }
      default: {
        // 'done' with bytes left over: more than the framing said.
        broken(socket, 'sent more bytes than its response declared');
        return;
      }
    }
  }
  // The parse above may have finished the answer.
  if ((c.phase as Phase) === 'done') release(socket);
}

/**
 * Where the CRLF ending the line at `at` is, or -1 when the line is not all
 * here yet (kept for the next read) or is too long (the connection is closed).
 */
function lineEnd(socket: Socket<Connection>, buf: Buffer, at: number): number {
  const eol = buf.indexOf(CRLF, at);
  if (eol !== -1) return eol;
  if (buf.length - at > HEAD_LIMIT) broken(socket, 'sent a chunk-size or trailer line over 64 KiB');
  else socket.data.pending = buf.subarray(at);
  return -1;
}

/** Reads the status line and headers; returns what is wrong, or null. */
function parseHead(socket: Socket<Connection>, text: string): string | null {
  const c = socket.data;
  const lines = text.split(LINE_END);
  const status = STATUS_LINE.exec(lines[0] as string);
  if (!status) return 'sent a response that is not HTTP/1.x';
  const code = Number(status[2]);
  // 1xx (103 Early Hints, a stray 100 Continue) come before the real answer; 101 is never asked for.
  if (code < 200) return code === 101 ? 'switched protocols on a plain GET' : null;
  const headers: [string, string][] = [];
  let length: string | null = null;
  let transferEncoding: string | null = null;
  let connection = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    // RFC 9112 §5.2: obsolete line folding; a name cannot start with white space.
    if (colon < 1 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
      return 'sent a malformed header line';
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      // `5, 5` (a list of one value) is allowed; two different lengths are not.
      for (const part of value.split(',')) {
        const n = part.trim();
        if (!DIGITS.test(n) || (length !== null && length !== n))
          return 'sent an invalid Content-Length';
        length = n;
      }
    } else if (name === 'transfer-encoding') {
      transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
    } else if (name === 'connection') {
      connection = connection ? `${connection}, ${value}` : value;
    }
    headers.push([name, value]);
  }
  // Other transfer codings (gzip, ...) would reach the visitor undecoded and unlabelled.
  if (transferEncoding !== null && !/^chunked$/i.test(transferEncoding)) {
    return 'sent a Transfer-Encoding other than chunked';
  }
  c.head = { status: code, statusText: status[3] ?? '', headers };
  c.keepAlive = status[1] === '1' && !/(?:^|,)\s*close\s*(?:,|$)/i.test(connection);
  // RFC 9112 §6.3: the order in which a response's body length is decided.
  if (code === 204 || code === 304) {
    hand(socket, null);
    finish(socket);
  } else if (transferEncoding !== null) {
    c.phase = 'chunk-size';
    // A length beside chunked may have been meant to smuggle: never reuse.
    if (length !== null) c.keepAlive = false;
    openStream(socket);
  } else if (length !== null) {
    c.remaining = Number(length);
    c.phase = 'sized';
    if (c.remaining === 0) {
      hand(socket, new Uint8Array(0));
      finish(socket);
    } else if (c.remaining <= WHOLE_BODY_LIMIT) {
      c.chunks = [];
    } else {
      openStream(socket);
    }
  } else {
    c.phase = 'until-close';
    c.keepAlive = false;
    openStream(socket);
  }
  return null;
}

/** Gives the waiting request its answer. */
function hand(socket: Socket<Connection>, body: ModuleResponse['body']): void {
  const c = socket.data;
  const exchange = c.exchange;
  const head = c.head;
  c.exchange = null;
  c.head = null;
  if (exchange && head) exchange.resolve({ ...head, body });
}

function openStream(socket: Socket<Connection>): void {
  const c = socket.data;
  let own: ReadableStreamDefaultController<Uint8Array> | null = null;
  // Once this answer is all in, the connection may carry another request:
  // pull and cancel act only while it still carries this one.
  const current = () => own !== null && c.stream === own;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        own = controller;
        c.stream = controller;
      },
      pull() {
        // The reader caught up: read from the module again.
        if (current() && c.paused) {
          c.paused = false;
          c.lastByteAt = performance.now();
          socket.resume();
        }
      },
      cancel() {
        // The visitor went away: the rest of this answer is not wanted.
        if (!current()) return;
        c.stream = null;
        retire(socket);
      },
    },
    { highWaterMark: STREAM_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 },
  );
  hand(socket, body);
}

/** Passes body bytes on; false when the connection was dropped meanwhile. */
function deliver(socket: Socket<Connection>, bytes: Buffer): boolean {
  const c = socket.data;
  if (bytes.length === 0) return true;
  if (c.chunks) {
    c.chunks.push(bytes);
    return true;
  }
  if (c.stream) {
    c.stream.enqueue(bytes);
    if ((c.stream.desiredSize ?? 1) <= 0) {
      c.paused = true;
      socket.pause();
    }
    return true;
  }
  // The visitor cancelled the stream: this connection is being closed.
  return c.phase !== 'dead';
}

/** The answer is complete. */
function finish(socket: Socket<Connection>): void {
  const c = socket.data;
  if (c.chunks) {
    const body = c.chunks.length === 1 ? (c.chunks[0] as Buffer) : Buffer.concat(c.chunks);
    c.chunks = null;
    hand(socket, body);
  }
  if (c.stream) {
    c.stream.close();
    c.stream = null;
  }
  c.phase = 'done';
}

/** Back to the pool if the module said it may be reused; closed otherwise. */
function release(socket: Socket<Connection>): void {
  const c = socket.data;
  if (!c.keepAlive) {
    retire(socket);
    return;
  }
  const list = idle.get(c.port) ?? [];
  if (list.length >= IDLE_PER_PORT) {
    retire(socket);
    return;
  }
  c.phase = 'idle';
  c.answered = false;
  // A stream's reader may have lagged behind its last bytes: a pooled connection always reads.
  if (c.paused) {
    c.paused = false;
    socket.resume();
  }
  socket.timeout(IDLE_SECONDS);
  // An idle pool never keeps the hub's process alive.
  socket.unref();
  list.push(socket);
  idle.set(c.port, list);
}

/** Closes a connection that will not be used again. */
function retire(socket: Socket<Connection>): void {
  socket.data.phase = 'dead';
  socket.terminate();
}

/** The module broke HTTP: fail what waits on this connection, and close it. */
function broken(socket: Socket<Connection>, why: string): void {
  fail(socket, new ModuleHttpError(`the module on port ${socket.data.port} ${why}`, true));
  retire(socket);
}

function closed(socket: Socket<Connection>): void {
  const c = socket.data;
  const list = idle.get(c.port);
  const at = list?.indexOf(socket) ?? -1;
  if (list && at !== -1) list.splice(at, 1);
  if (c.phase === 'until-close') {
    // The close is the end of this body.
    finish(socket);
  } else if (c.phase !== 'idle' && c.phase !== 'done' && c.phase !== 'dead') {
    fail(
      socket,
      new ModuleHttpError(`the module on port ${c.port} closed the connection mid-answer`),
    );
  }
  c.phase = 'dead';
}

function fail(socket: Socket<Connection>, error: Error): void {
  const c = socket.data;
  const exchange = c.exchange;
  c.exchange = null;
  c.head = null;
  c.chunks = null;
  if (exchange) {
    if (exchange.retry && !c.answered) exchange.retry();
    else exchange.reject(error);
  }
  if (c.stream) {
    c.stream.error(error);
    c.stream = null;
  }
}
