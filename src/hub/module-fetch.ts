/**
 * How the proxy sends one request to a module: Bun's fetch, over a
 * keep-alive connection of the visitor connection's own pool
 * (visitor-pools.ts), or, when there is none, over a connection of the
 * request's own that closes after the answer (modules.md section 7: a
 * connection to a module is never shared by two visitors' connections).
 *
 * Why not one pool for everyone: a pooled connection passes from one request
 * to the next, whoever sent them, and bytes a module writes after an answer
 * (a second answer, a body longer than it said, written late) are read as
 * the answer to the next request on it. Bun's pool closes a connection that
 * receives bytes while idle, but bytes that come once it carries the next
 * request are that request's answer: with a pool per visitor connection,
 * that next request is the same visitor's. What each way costs is measured
 * by bench/proxy.ts (README, "Reaching modules through the hub").
 */

/**
 * How long a module may send nothing while a request waits on it (for its
 * answer, or the rest of its body) before the request is ended, so a wedged
 * module cannot pile up connections. Bun's fetch resets this timer on every
 * byte; time the visitor is not reading holds the module back and counts.
 */
export const MODULE_SILENCE_MS = 5 * 60 * 1000;

/** Why a module gave no answer the hub can pass on. */
export interface ModuleFailure {
  /** `misbehaving`: its answer is not valid HTTP/1.1; `unreachable`: no answer at all. */
  failure: 'unreachable' | 'misbehaving';
  /** Bun's error code, for the log. */
  why: string;
}

/** What a forwarded request carries besides its URL. */
export interface ModuleRequest {
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * Bun's error codes for a module that could not be reached or went away
 * before answering. Any other failure is an answer Bun could not parse
 * (`Malformed_HTTP_Response`, `InvalidContentLength`, `UnrequestedUpgrade`, ...).
 */
const NO_ANSWER = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Sends `request` to `url` (a module on loopback) through `session` (the
 * visitor connection's pool) or on a connection of its own. It rejects when
 * the module gives no answer: failureOf() says why. Bun's fetch promise is
 * returned as it is (the proxy awaits it in a try): a `.catch()` here was
 * one more promise and turn per request.
 */
export function fetchFromModule(
  url: string,
  request: ModuleRequest,
  session: Bun.FetchSession | null,
): Promise<Response> {
  // RFC 9112 section 9.6: a client that will not reuse the connection says
  // `close`. The module then closes first, so the closed connection's
  // TIME_WAIT stays on its side and the hub's ephemeral ports stay free.
  if (!session) request.headers.set('connection', 'close');
  return (session?.fetch ?? fetch)(url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    keepalive: session !== null,
    timeout: MODULE_SILENCE_MS,
    redirect: 'manual',
    // Compressed bodies pass through untouched, with their Content-Encoding.
    decompress: false,
  });
}

/** Why fetchFromModule() failed: no answer at all, or one that is not HTTP/1.1. */
export function failureOf(error: unknown): ModuleFailure {
  const { name, code } = error as { name?: string; code?: string };
  if (name === 'TimeoutError') return { failure: 'unreachable', why: 'timeout' };
  const why = code ?? String(error);
  return { failure: code && !NO_ANSWER.has(code) ? 'misbehaving' : 'unreachable', why };
}
