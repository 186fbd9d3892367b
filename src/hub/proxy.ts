import { type Mount, upstreamPath } from '../modules/mounts.ts';
import { log } from '../platform/log.ts';
import type { ModuleState } from '../supervisor/states.ts';
import { errorBody } from './error-body.ts';
import { wantsPage } from './hub-page.ts';
import { failureOf, fetchFromModule } from './module-fetch.ts';
import { applyModuleHeaderRules, withoutHubCookies } from './module-headers.ts';
import { type PageViewer, type Unavailability, unavailablePage } from './unavailable-page.ts';

// RFC 9110 §7.6.1: meaningful only for one connection, never forwarded.
export const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
];

/** What the proxy needs to know about the caller and the module. */
export interface ProxyContext {
  /** The TCP peer's address (`unknown` when Bun cannot say). */
  clientIp: string;
  /** The peer is a trusted proxy (forwarded.ts). */
  trusted: boolean;
  /** The visitor's address as the hub determined it (forwarded.ts clientAddressOf), or null. */
  visitor: string | null;
  /** The module's supervisor state, or null when the hub does not run it (a self-registered row). */
  state: ModuleState | null;
  /** Its documents get the sandbox CSP (an isolated module, or the hub's origin with an apps domain). */
  sandbox: boolean;
  /** The visitor connection's own pool of module connections (visitor-pools.ts); null: one per request. */
  session: Bun.FetchSession | null;
  /**
   * Who is looking (the hub's origin, whether they are a signed-in admin):
   * asked only for a browser's page when the module cannot answer, so a
   * proxied request never pays for the session lookup.
   */
  viewer?: (request: Request, mount: Mount) => PageViewer;
}

/**
 * Forwards a request to a module on loopback and streams its answer back
 * (modules.md section 7). Bodies pass through as streams in both directions,
 * compressed bodies stay compressed, the hub's own cookies never reach the
 * module, and forwarding headers say what the hub saw unless the peer is a
 * trusted proxy. Each request reaches the module on a connection of its own
 * (module-fetch.ts), with a body exactly when the visitor sent one.
 */
export async function forward(
  request: Request,
  mount: Mount,
  ctx: ProxyContext,
): Promise<Response> {
  if (ctx.state !== null && ctx.state !== 'running') {
    return unavailable(request, mount, ctx.state, ctx);
  }
  const body = request.body;
  if (declaresBody(request.headers) && (body === null || BODYLESS.has(request.method))) {
    return bodyNotForwarded(request.method);
  }
  const url = request.url;
  // The visitor's request goes no further than here: its headers become the module's.
  const headers = request.headers;
  upstreamHeaders(headers, url, ctx);
  const target = `http://127.0.0.1:${mount.port}${upstreamPath(mount, pathAndQuery(url))}`;
  let upstream: Response;
  try {
    upstream = await fetchFromModule(
      target,
      { method: request.method, headers, body },
      ctx.session,
    );
  } catch (error) {
    const { failure, why } = failureOf(error);
    if (failure === 'misbehaving') {
      warnInvalidAnswer(
        mount.name,
        `${mount.name} sent an answer that is not valid HTTP/1.1 (${why})`,
      );
    }
    return unavailable(request, mount, failure, ctx);
  }
  // The module's answer goes back as the same Response, its headers edited
  // in place (Bun's fetch headers are mutable): wrapping its body in a new
  // Response turned Bun's native body pass-through into a JS stream copy.
  // Bun.serve frames the body itself (RFC 9112 section 6.3: a Content-Length
  // beside Transfer-Encoding does not reach the visitor; proxy.test.ts).
  const answer = upstream.headers;
  for (const name of namesIn(answer, hopByHopNames(answer.get('connection')))) answer.delete(name);
  applyModuleHeaderRules(answer, mount, ctx.sandbox);
  return upstream;
}

// Methods whose requests Bun's fetch sends without a body (and Bun.serve reads none for).
const BODYLESS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'TRACE']);

/** RFC 9112 section 6.3: a request has a body when it has Transfer-Encoding or a non-zero Content-Length. */
function declaresBody(headers: Headers): boolean {
  if (headers.has('transfer-encoding')) return true;
  const length = headers.get('content-length');
  return length !== null && Number(length) !== 0;
}

/**
 * A GET, HEAD or TRACE with a body: Bun's fetch cannot send it, and sending
 * the request without it while its framing headers said otherwise made the
 * module read the next request as that body. RFC 9110 section 9.3.1: content
 * in a GET has no defined meaning and may be refused as a smuggling attempt.
 */
function bodyNotForwarded(method: string): Response {
  return Response.json(
    errorBody(
      'invalid_request',
      `A ${method} request cannot carry a body through the hub; send it without one, or use POST.`,
    ),
    { status: 400, headers: { 'cache-control': 'no-store' } },
  );
}

/** Modules already reported for answers that are not HTTP/1.1. */
const warnedInvalidAnswers = new Set<string>();

// Said once per module: a module that answers every request wrongly would flood the log.
function warnInvalidAnswer(module: string, why: string): void {
  if (warnedInvalidAnswers.has(module)) return;
  warnedInvalidAnswers.add(module);
  log.warn(`${module}: ${why}; the hub answered 502 (this is said once per module)`);
}

/**
 * The path and query of a request URL as Bun.serve hands it over (already
 * normalised: dot segments resolved, percent-encoded), by slicing: parsing a
 * URL per proxied request was measurable. Bun keeps a `#fragment` the client
 * sent in the request line; it is not part of the resource, so it is dropped.
 */
export function pathAndQuery(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

/** The host of an absolute URL, as written in it. */
function hostOf(url: string): string {
  const start = url.indexOf('//') + 2;
  const end = url.indexOf('/', start);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/**
 * Calls `add` with each header the module receives for a request with these
 * headers (upstreamHeaders below, on a copy): `headers` is not changed.
 */
export function eachUpstreamHeader(
  headers: Headers,
  url: string,
  ctx: ProxyContext,
  add: (name: string, value: string) => void,
): void {
  const copy = new Headers(headers);
  upstreamHeaders(copy, url, ctx);
  for (const [name, value] of copy) add(name, value);
}

/**
 * Edits a request's headers in place into those the module receives:
 * hop-by-hop headers and the hub's cookies left out, the Host left to the
 * client that sends it, and the forwarding headers set to what the hub saw
 * (appended to, from a trusted proxy). In place, because the visitor's own
 * Headers can be handed to fetch as they are: a copy built header by header
 * cost more than all of these edits.
 *
 * Modules also get upstream's trust headers, whatever the client sent:
 * `X-Parachute-Layer` is `loopback` only for a header-less request whose
 * peer is this machine and no trusted proxy (anything relayed may come from
 * anywhere), else `public`; `X-Parachute-Client-IP` is `ctx.visitor`.
 */
export function upstreamHeaders(headers: Headers, url: string, ctx: ProxyContext): void {
  // Deleted by name, present or not, as the plain forwarding proxy does:
  // walking the names first was no faster (bench/hub-request.ts).
  for (const name of hopByHopNames(headers.get('connection'))) headers.delete(name);
  // Only the hub says this one (set below): a visitor's own copy never reaches a module.
  headers.delete('x-parachute-client-ip');
  const relayed =
    headers.has('x-forwarded-for') || headers.has('x-forwarded-host') || headers.has('forwarded');
  const host = headers.get('host') ?? hostOf(url);
  headers.delete('host');
  const cookie = headers.get('cookie');
  if (cookie !== null) {
    const kept = withoutHubCookies(cookie);
    if (kept === '') headers.delete('cookie');
    else if (kept !== cookie) headers.set('cookie', kept);
  }
  const proto = url.startsWith('https:') ? 'https' : 'http';
  if (ctx.trusted) {
    const priorFor = headers.get('x-forwarded-for');
    headers.set('x-forwarded-for', priorFor ? `${priorFor}, ${ctx.clientIp}` : ctx.clientIp);
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
    if (!headers.has('x-forwarded-host')) headers.set('x-forwarded-host', host);
  } else {
    // From anyone but a trusted proxy, what a client says it forwarded is replaced.
    headers.set('x-forwarded-for', ctx.clientIp);
    headers.set('x-forwarded-proto', proto);
    headers.set('x-forwarded-host', host);
    headers.set('forwarded', `for=${quoteIp(ctx.clientIp)};host=${quoted(host)};proto=${proto}`);
  }
  const loopback = !relayed && !ctx.trusted && isLoopback(ctx.clientIp);
  headers.set('x-parachute-layer', loopback ? 'loopback' : 'public');
  if (ctx.visitor !== null) headers.set('x-parachute-client-ip', ctx.visitor);
}

/** 127.0.0.0/8 and ::1, also in the IPv4-mapped form a dual-stack socket reports. */
function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

const HOP_BY_HOP_NAMES: ReadonlySet<string> = new Set(HOP_BY_HOP);

/**
 * Which of `names` a message has, in one pass over its names: a module's
 * answer has few, and most have none of the hop-by-hop ones (deleting while
 * iterating would skip names, hence the list).
 */
function namesIn(headers: Headers, names: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const name of headers.keys()) if (names.has(name)) found.push(name);
  return found;
}

/** The hop-by-hop header names of a message: RFC 9110's and those its Connection header lists. */
function hopByHopNames(connection: string | null): ReadonlySet<string> {
  // Most messages name nothing in Connection but keep-alive or close.
  if (!connection) return HOP_BY_HOP_NAMES;
  const names = new Set(HOP_BY_HOP);
  for (const name of connection.split(',')) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed) names.add(trimmed);
  }
  return names;
}

// RFC 7239 §4: a host with a port is not a token, and unquoted, a Host of
// `a,for=6.6.6.6` added a `for` the client chose to what the hub saw.
function quoted(value: string): string {
  if (!value.includes('"') && !value.includes('\\')) return `"${value}"`;
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// RFC 7239 §6: IPv6 addresses are quoted and bracketed.
function quoteIp(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/** 503 while a module is starting or backing off, 502 when it is down: a page for browsers, JSON otherwise. */
export function unavailable(
  request: Request,
  mount: Mount,
  state: Unavailability,
  ctx?: Pick<ProxyContext, 'viewer'>,
): Response {
  const retrying = state === 'starting' || state === 'backoff';
  const status = retrying ? 503 : 502;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (retrying) headers['retry-after'] = '2';
  if (wantsPage(request)) {
    return unavailablePage(mount, state, ctx?.viewer?.(request, mount) ?? null, headers);
  }
  const advice = retrying
    ? 'It is starting; try again in a few seconds.'
    : state === 'unreachable'
      ? `It gave no answer: the hub could not connect, or it closed the connection or went silent first. Check its logs: parachute logs ${mount.name}`
      : state === 'misbehaving'
        ? `Its answer was not valid HTTP/1.1 (the hub's log says how). Check its logs: parachute logs ${mount.name}`
        : `Start it from the admin UI or with: parachute start ${mount.name} (its logs: parachute logs ${mount.name})`;
  return Response.json(
    {
      error: retrying ? 'module_starting' : 'module_unavailable',
      error_description: `${mount.name} is ${state}. ${advice}`,
      module: mount.name,
      state,
    },
    { status, headers },
  );
}
