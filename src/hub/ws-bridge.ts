import type { ServerWebSocket, WebSocketHandler } from 'bun';
import { type Mount, upstreamPath } from '../modules/mounts.ts';
import { errorBody } from './error-body.ts';
import { type ProxyContext, pathAndQuery, requestHeaders, unavailable } from './proxy.ts';
import type { HubServer } from './server.ts';

/** What the upgrade hands the bridge: the module's side, already open. */
export interface BridgeData {
  upstream: WebSocket;
  /** Module messages that arrived before the client's side was open. */
  early: (string | Uint8Array)[];
  /** How the module closed, if it did before the client's side was open. */
  earlyClose?: { code: number; reason: string };
}

/** How long the module gets to accept a WebSocket before the client's upgrade fails. */
const MODULE_HANDSHAKE_TIMEOUT_MS = 10_000;

// WebSocket handshake headers belong to each hop; the rest are forwarded.
const HANDSHAKE = /^sec-websocket-|^upgrade$|^connection$/;

/**
 * Upgrades a client to a WebSocket bridged to the module (modules.md section
 * 7), or answers why not. The module's side is opened first, so the client is
 * told the sub-protocol the module chose (RFC 6455 section 4.2.2), and a
 * module that refuses the upgrade fails the client's upgrade too, instead of
 * the client seeing it open and then close.
 */
export async function upgradeToModule(
  request: Request,
  srv: HubServer,
  mount: Mount,
  ctx: ProxyContext,
): Promise<Response | undefined> {
  if (ctx.state !== null && ctx.state !== 'running') return unavailable(request, mount, ctx.state);
  const headers: Record<string, string> = {};
  for (const [k, v] of requestHeaders(new Headers(request.headers), request.url, ctx))
    if (!HANDSHAKE.test(k)) headers[k] = v;
  const protocols = (request.headers.get('sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const target = `ws://127.0.0.1:${mount.port}${upstreamPath(mount, pathAndQuery(request.url))}`;
  const data = await connectModule(target, protocols, headers);
  if (!data) {
    // Bun's WebSocket does not say what the module answered, so no status to pass on.
    return Response.json(
      errorBody(
        'module_refused_websocket',
        `${mount.name} did not accept the WebSocket: it refused the upgrade or could not be reached.`,
      ),
      { status: 502 },
    );
  }
  const upgraded = srv.upgrade(request, {
    data,
    // Always set: without the header Bun answers with the first protocol the
    // client offered, whatever the module chose; an empty value sends none.
    headers: { 'sec-websocket-protocol': data.upstream.protocol },
  });
  if (upgraded) return undefined;
  data.upstream.close();
  return new Response('WebSocket upgrade failed', { status: 400 });
}

/** Opens the module's side, buffering what it sends until the client's side opens; null if it does not open. */
function connectModule(
  target: string,
  protocols: string[],
  headers: Record<string, string>,
): Promise<BridgeData | null> {
  // Bun's WebSocket takes an options object (headers, protocols); the DOM
  // typings in scope only know the protocols-array form.
  const options: Bun.WebSocketOptions = { protocols, headers };
  const upstream = new WebSocket(target, options as unknown as string[]);
  upstream.binaryType = 'arraybuffer';
  const data: BridgeData = { upstream, early: [] };
  upstream.onmessage = (event) => data.early.push(payload(event));
  upstream.onclose = (event) => {
    data.earlyClose = { code: clientCode(event.code), reason: event.reason };
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      upstream.close();
      resolve(null);
    }, MODULE_HANDSHAKE_TIMEOUT_MS);
    upstream.onopen = () => {
      clearTimeout(timer);
      resolve(data);
    };
    upstream.onerror = () => {
      clearTimeout(timer);
      resolve(null);
    };
  });
}

/**
 * Bridges a client WebSocket to the module's (modules.md section 7, for rows
 * with `websocket: true`): messages both ways as they come, close codes
 * passed through, a module that drops the connection closes the client with 1011.
 */
export const wsBridge: WebSocketHandler<BridgeData> = {
  open(ws) {
    const { upstream, early, earlyClose } = ws.data;
    for (const message of early) ws.send(message);
    ws.data.early = [];
    if (earlyClose) return closeQuietly(ws, earlyClose.code, earlyClose.reason);
    upstream.onmessage = (event) => {
      ws.send(payload(event));
    };
    upstream.onclose = (event) => closeQuietly(ws, clientCode(event.code), event.reason);
    upstream.onerror = () => closeQuietly(ws, 1011, 'module connection lost');
  },
  message(ws, message) {
    const upstream = ws.data.upstream;
    if (upstream.readyState === WebSocket.OPEN)
      upstream.send(message as string | Uint8Array<ArrayBuffer>);
  },
  close(ws, code, reason) {
    const upstream = ws.data.upstream;
    if (upstream.readyState <= WebSocket.OPEN) {
      upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    }
  },
};

function payload(event: MessageEvent): string | Uint8Array {
  return typeof event.data === 'string' ? event.data : new Uint8Array(event.data as ArrayBuffer);
}

// The code the client gets for the module's close. 1005 (no code given) is a
// normal close; 1006 (dropped without a close frame) and 1015 must never be
// sent (RFC 6455 section 7.4.1), and sending them closed the client with a
// clean-looking 1005: a dropped module is a server error, 1011.
function clientCode(code: number): number {
  if (code === 1005) return 1000;
  return code === 1006 || code === 1015 ? 1011 : code;
}

function closeQuietly(ws: ServerWebSocket<BridgeData>, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
