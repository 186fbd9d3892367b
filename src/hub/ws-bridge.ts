import type { WebSocket as BunWebSocket, ServerWebSocket, WebSocketHandler } from 'bun';
import { type Mount, upstreamPath } from '../modules/mounts.ts';
import { errorBody } from './error-body.ts';
import { eachUpstreamHeader, type ProxyContext, pathAndQuery, unavailable } from './proxy.ts';
import type { HubServer } from './server.ts';

/** What the upgrade hands the bridge: the module's side, already open. */
export interface BridgeData {
  upstream: BunWebSocket;
  /** Module messages that arrived before the client's side was open. */
  early: (string | Uint8Array)[];
  /** How the module closed, if it did before the client's side was open. */
  earlyClose?: { code: number; reason: string };
  /** Bytes of module messages that arrived after the hub paused the module (see `toClient`). */
  lateFromModule: number;
  /** Bytes of client messages that arrived after the hub paused the client (see `toModule`). */
  lateFromClient: number;
  /** Set while the client is paused, waiting for the module to read what the hub queued. */
  moduleDrainPoll?: ReturnType<typeof setInterval>;
}

/**
 * Most bytes of messages a side may deliver after the hub paused it, before
 * the hub closes the bridge. Pausing stops the hub reading the socket, so the
 * sender feels TCP backpressure and only what Bun had already read from it
 * still arrives (in tests, nothing at all): no peer comes near 4 MiB, yet the
 * hub's memory per bridge stays bounded (one message plus this, each way)
 * even if Bun's pause leaks.
 */
export const WS_LATE_BYTES_LIMIT = 4 * 1024 * 1024;

/** How often a paused client checks whether the module has read what the hub queued for it. */
const MODULE_DRAIN_POLL_MS = 10;

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
  if (ctx.state !== null && ctx.state !== 'running')
    return unavailable(request, mount, ctx.state, ctx);
  const headers: Record<string, string> = {};
  eachUpstreamHeader(request.headers, request.url, ctx, (name, value) => {
    if (!HANDSHAKE.test(name)) headers[name] = value;
  });
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
  // Bun's WebSocket takes an options object (headers, protocols) and can
  // pause reading; the DOM typings in scope know neither.
  const options: Bun.WebSocketOptions = { protocols, headers };
  const upstream = new WebSocket(target, options as unknown as string[]) as unknown as BunWebSocket;
  upstream.binaryType = 'arraybuffer';
  const data: BridgeData = { upstream, early: [], lateFromModule: 0, lateFromClient: 0 };
  upstream.onmessage = (event) => {
    // Nowhere to send it yet: stop reading the module until the client's
    // side opens. What Bun still delivers after the pause is late.
    const message = payload(event);
    if (upstream.isPaused) data.lateFromModule += byteLength(message);
    upstream.pause();
    data.early.push(message);
  };
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
 * passed through, a module that drops the connection closes the client with
 * 1011. A side that reads slower than the other writes is met with
 * backpressure: the hub stops reading the sender until the reader has taken
 * what the hub queued, so the hub's memory stays bounded however long the
 * bridge lives.
 */
export const wsBridge: WebSocketHandler<BridgeData> = {
  // The bridge bounds its queues itself (pausing the sender, then
  // WS_LATE_BYTES_LIMIT); Bun's own limit would drop a module message that
  // follows one large message, and closeOnBackpressureLimit closes without a
  // close frame.
  backpressureLimit: 0,
  open(ws) {
    const { upstream, early, earlyClose } = ws.data;
    ws.data.early = [];
    upstream.onmessage = (event) => toClient(ws, payload(event));
    upstream.onclose = (event) => closeQuietly(ws, clientCode(event.code), event.reason);
    upstream.onerror = () => closeQuietly(ws, 1011, 'module connection lost');
    for (const message of early) sendToClient(ws, message);
    if (earlyClose) return closeQuietly(ws, earlyClose.code, earlyClose.reason);
    if (ws.data.lateFromModule > WS_LATE_BYTES_LIMIT) return closeOverflowing(ws, 'client');
    // Had the early messages left a queue, `drain` would resume the module.
    if (ws.readyState === WebSocket.OPEN && ws.getBufferedAmount() === 0) {
      ws.data.lateFromModule = 0;
      upstream.resume();
    }
  },
  drain(ws) {
    // Resume only once the queue is empty: resuming earlier would let a slow
    // client's queue creep up by a read's worth on every partial drain.
    if (ws.getBufferedAmount() > 0) return;
    ws.data.lateFromModule = 0;
    ws.data.upstream.resume();
  },
  message(ws, message) {
    toModule(ws, message as string | Uint8Array<ArrayBuffer>);
  },
  close(ws, code, reason) {
    clearInterval(ws.data.moduleDrainPoll);
    const upstream = ws.data.upstream;
    if (upstream.readyState <= WebSocket.OPEN) {
      upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    }
  },
};

/** Forwards a module message, pausing the module while the client has a queue. */
function toClient(ws: ServerWebSocket<BridgeData>, message: string | Uint8Array): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (ws.data.upstream.isPaused) {
    ws.data.lateFromModule += byteLength(message);
    if (ws.data.lateFromModule > WS_LATE_BYTES_LIMIT) {
      closeOverflowing(ws, 'client');
      return;
    }
  }
  sendToClient(ws, message);
}

function sendToClient(ws: ServerWebSocket<BridgeData>, message: string | Uint8Array): void {
  const sent = ws.send(message);
  // -1: queued in the hub (the client is not reading fast enough); `drain` resumes.
  if (sent === -1) ws.data.upstream.pause();
  // 0 for a non-empty message: Bun dropped it. Never lose a message silently.
  else if (sent === 0 && byteLength(message) > 0) closeOverflowing(ws, 'client');
}

/** Forwards a client message, pausing the client while the module has a queue. */
function toModule(
  ws: ServerWebSocket<BridgeData>,
  message: string | Uint8Array<ArrayBuffer>,
): void {
  const upstream = ws.data.upstream;
  if (upstream.readyState !== WebSocket.OPEN) return;
  if (ws.isPaused) {
    ws.data.lateFromClient += byteLength(message);
    if (ws.data.lateFromClient > WS_LATE_BYTES_LIMIT) {
      closeOverflowing(ws, 'module');
      return;
    }
  }
  upstream.send(message);
  if (upstream.bufferedAmount > 0) pauseClientUntilModuleReads(ws);
}

// Bun's client WebSocket has no drain event, so the paused client polls the
// module side's queue; the poll runs only while a module is behind.
function pauseClientUntilModuleReads(ws: ServerWebSocket<BridgeData>): void {
  if (ws.data.moduleDrainPoll) return;
  ws.pause();
  ws.data.moduleDrainPoll = setInterval(() => {
    if (ws.data.upstream.bufferedAmount > 0) return;
    clearInterval(ws.data.moduleDrainPoll);
    ws.data.moduleDrainPoll = undefined;
    ws.data.lateFromClient = 0;
    ws.resume();
  }, MODULE_DRAIN_POLL_MS);
}

// 1008 (RFC 6455 section 7.4.1) is the generic code for a peer breaking the
// endpoint's policy, here the cap on what the hub holds for a side that does
// not read: 1009 is about one message too big, which this need not be, and
// 1013 (try again later) would invite a retry against the same slow reader.
// The close handler passes the same code and reason to the module.
function closeOverflowing(ws: ServerWebSocket<BridgeData>, receiver: 'client' | 'module'): void {
  const mib = WS_LATE_BYTES_LIMIT / (1024 * 1024);
  closeQuietly(ws, 1008, `over ${mib} MiB queued for the ${receiver} despite backpressure`);
}

function byteLength(message: string | Uint8Array): number {
  return typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
}

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
