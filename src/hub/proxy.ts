import { CSRF_COOKIE, SESSION_COOKIE } from '../auth/cookies.ts';
import { type Mount, upstreamPath } from '../modules/mounts.ts';
import { log } from '../platform/log.ts';
import type { ModuleState } from '../supervisor/states.ts';
import { escapeHtml } from './html.ts';

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
  clientIp: string;
  trusted: boolean;
  /** The module's supervisor state, or null when the hub does not run it (a self-registered row). */
  state: ModuleState | null;
}

/**
 * Forwards a request to a module on loopback and streams its answer back
 * (modules.md section 7). Bodies pass through as streams in both directions,
 * compressed bodies stay compressed, the hub's own cookies never reach the
 * module, and forwarding headers say what the hub saw unless the peer is a
 * trusted proxy.
 */
export async function forward(
  request: Request,
  mount: Mount,
  ctx: ProxyContext,
): Promise<Response> {
  if (ctx.state !== null && ctx.state !== 'running') return unavailable(request, mount, ctx.state);
  const url = request.url;
  const target = `http://127.0.0.1:${mount.port}${upstreamPath(mount, pathAndQuery(url))}`;
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers: requestHeaders(request.headers, url, ctx),
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      redirect: 'manual',
      // Pass compressed bodies through untouched, with their Content-Encoding.
      decompress: false,
    });
  } catch {
    return unavailable(request, mount, 'unreachable');
  }
  // The module's answer goes back as the same Response, its headers edited
  // in place (Bun's fetch headers are mutable): wrapping its body in a new
  // Response turned Bun's native body pass-through into a JS stream copy,
  // about 15 % of the hub's throughput on small GETs.
  stripHopByHop(upstream.headers);
  if (upstream.headers.has('set-cookie')) keepHubCookiesFromModule(upstream.headers, mount.name);
  return upstream;
}

/** Modules already told the operator once that the hub dropped their Set-Cookie. */
const warnedCookieSetters = new Set<string>();

/**
 * Drops a module's Set-Cookie for the hub's own cookies. Modules share the
 * hub's origin, so without this one could sign its visitors in as someone
 * else (session fixation), sign them out, or replace the CSRF token: page
 * scripts cannot overwrite the HttpOnly session cookie, but a response header can.
 */
function keepHubCookiesFromModule(headers: Headers, module: string): void {
  const all = headers.getSetCookie();
  const kept = all.filter((cookie) => !isHubCookie(cookie));
  if (kept.length === all.length) return;
  headers.delete('set-cookie');
  for (const cookie of kept) headers.append('set-cookie', cookie);
  if (!warnedCookieSetters.has(module)) {
    warnedCookieSetters.add(module);
    log.warn(
      `${module} tried to set the hub's ${SESSION_COOKIE} or ${CSRF_COOKIE} cookie; the hub drops those Set-Cookie headers (this is said once)`,
    );
  }
}

// A Set-Cookie's name is what comes before its first `=` (all of a bare `name`), trimmed.
function isHubCookie(setCookie: string): boolean {
  const semicolon = setCookie.indexOf(';');
  const pair = semicolon === -1 ? setCookie : setCookie.slice(0, semicolon);
  const eq = pair.indexOf('=');
  const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
  return name === SESSION_COOKIE || name === CSRF_COOKIE;
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
 * Turns a client's request headers into what the module receives, editing
 * `headers` in place: hop-by-hop and hub cookies removed, forwarding
 * headers set. The proxy passes the request's own headers (the request is
 * forwarded once and never read again; copying them was measurable per
 * request); the WebSocket bridge passes a copy, as the upgrade still needs them.
 */
export function requestHeaders(headers: Headers, url: string, ctx: ProxyContext): Headers {
  const host = headers.get('host') ?? hostOf(url);
  stripHopByHop(headers);
  headers.delete('host');
  const cookie = headers.get('cookie');
  if (cookie) {
    const kept = withoutHubCookies(cookie);
    if (kept === '') headers.delete('cookie');
    else if (kept !== cookie) headers.set('cookie', kept);
  }
  const proto = url.startsWith('https:') ? 'https' : 'http';
  if (ctx.trusted) {
    const prior = headers.get('x-forwarded-for');
    headers.set('x-forwarded-for', prior ? `${prior}, ${ctx.clientIp}` : ctx.clientIp);
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
    if (!headers.has('x-forwarded-host')) headers.set('x-forwarded-host', host);
  } else {
    headers.set('x-forwarded-for', ctx.clientIp);
    headers.set('x-forwarded-proto', proto);
    headers.set('x-forwarded-host', host);
    headers.set('forwarded', `for=${quoteIp(ctx.clientIp)};host=${quoted(host)};proto=${proto}`);
  }
  return headers;
}

/**
 * The Cookie header without the hub's cookies ('' when nothing is left).
 * Every browser request to a module carries them (they are scoped to the
 * hub's origin), so this runs on most proxied requests: one regex pass, about
 * a third of what splitting the header into pairs cost. Headers without
 * them are passed as they are.
 */
export function withoutHubCookies(cookie: string): string {
  if (!cookie.includes('parachute_')) return cookie;
  return cookie.replace(HUB_COOKIE_PAIRS, '').replace(EDGE_SEPARATORS, '');
}

// A hub cookie pair (`name=value`, or a bare name) with the separator before it.
const HUB_COOKIE_PAIRS = new RegExp(
  `(?:^|;)[ \\t]*(?:${SESSION_COOKIE}|${CSRF_COOKIE})(?:=[^;]*)?(?=;|$)`,
  'g',
);
const EDGE_SEPARATORS = /^[; \t]+|[; \t]+$/g;

function stripHopByHop(headers: Headers): void {
  // Most messages name nothing in Connection: skip the split for them.
  const named = headers.get('connection');
  if (named) {
    for (const h of named.split(',')) if (h.trim()) headers.delete(h.trim());
  }
  for (const h of HOP_BY_HOP) headers.delete(h);
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

/** 503 while a module is starting or backing off, 502 when it is down: HTML for browsers, JSON otherwise. */
export function unavailable(
  request: Request,
  mount: Mount,
  state: ModuleState | 'unreachable',
): Response {
  const retrying = state === 'starting' || state === 'backoff';
  const status = retrying ? 503 : 502;
  const advice = retrying
    ? 'It is starting; try again in a few seconds.'
    : state === 'unreachable'
      ? `The hub could not connect to it. Check its logs: parachute logs ${mount.name}`
      : `Start it from the admin UI or with: parachute start ${mount.name} (its logs: parachute logs ${mount.name})`;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (retrying) headers['retry-after'] = '2';
  if ((request.headers.get('accept') ?? '').includes('text/html')) {
    const html = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(mount.name)} is ${state}</title><body style="font-family:system-ui;max-width:40rem;margin:4rem auto"><h1>${escapeHtml(mount.name)} is ${state}</h1><p>${escapeHtml(advice)}</p></body>`;
    return new Response(html, {
      status,
      headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
    });
  }
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
