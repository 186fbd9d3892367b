import { CSRF_COOKIE, SESSION_COOKIE } from '../auth/cookies.ts';
import { type Mount, upstreamPath } from '../modules/mounts.ts';
import type { ModuleState } from '../supervisor/states.ts';
import { escapeHtml } from './html.ts';

// RFC 9110 §7.6.1: meaningful only for one connection, never forwarded.
const HOP_BY_HOP = [
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
const HUB_COOKIES = new Set([SESSION_COOKIE, CSRF_COOKIE]);

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
  const url = new URL(request.url);
  const target = `http://127.0.0.1:${mount.port}${upstreamPath(mount, url.pathname)}${url.search}`;
  const headers = requestHeaders(request, url, ctx);
  try {
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      redirect: 'manual',
      // Pass compressed bodies through untouched, with their Content-Encoding.
      decompress: false,
    });
    const out = new Headers(upstream.headers);
    stripHopByHop(out);
    return new Response(upstream.body, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: out,
    });
  } catch {
    return unavailable(request, mount, 'unreachable');
  }
}

/** The headers a module receives: hop-by-hop and hub cookies removed, forwarding headers set. */
export function requestHeaders(request: Request, url: URL, ctx: ProxyContext): Headers {
  const headers = new Headers(request.headers);
  stripHopByHop(headers);
  headers.delete('host');
  const cookie = headers.get('cookie');
  if (cookie) {
    const kept = cookie
      .split(';')
      .map((c) => c.trim())
      .filter(
        (c) => c && !HUB_COOKIES.has(c.slice(0, c.indexOf('=') === -1 ? c.length : c.indexOf('='))),
      );
    if (kept.length > 0) headers.set('cookie', kept.join('; '));
    else headers.delete('cookie');
  }
  const host = request.headers.get('host') ?? url.host;
  const proto = url.protocol.replace(':', '');
  if (ctx.trusted) {
    const prior = headers.get('x-forwarded-for');
    headers.set('x-forwarded-for', prior ? `${prior}, ${ctx.clientIp}` : ctx.clientIp);
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
    if (!headers.has('x-forwarded-host')) headers.set('x-forwarded-host', host);
  } else {
    headers.set('x-forwarded-for', ctx.clientIp);
    headers.set('x-forwarded-proto', proto);
    headers.set('x-forwarded-host', host);
    headers.set('forwarded', `for=${quoteIp(ctx.clientIp)};host=${host};proto=${proto}`);
  }
  return headers;
}

function stripHopByHop(headers: Headers): void {
  for (const named of (headers.get('connection') ?? '').split(',')) {
    if (named.trim()) headers.delete(named.trim());
  }
  for (const h of HOP_BY_HOP) headers.delete(h);
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
