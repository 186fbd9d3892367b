import type { ServerWebSocket, WebSocketHandler } from 'bun';

/** What the upgrade hands the bridge: where the module's end is. */
export interface BridgeData {
  /** ws://127.0.0.1:<port><path> of the module. */
  target: string;
  /** Sub-protocols the client asked for, passed on to the module. */
  protocols: string[];
  /** Forwarding headers for the module's side (X-Forwarded-*, cookies without the hub's). */
  headers: Record<string, string>;
  upstream?: WebSocket;
  /** Client messages that arrived before the module's side was open. */
  pending: (string | Uint8Array)[];
}

/**
 * Bridges a client WebSocket to the module's (modules.md section 7, for rows
 * with `websocket: true`): messages both ways as they come, close codes
 * passed through, an unreachable module closes the client with 1011.
 */
export const wsBridge: WebSocketHandler<BridgeData> = {
  open(ws) {
    // Bun's WebSocket takes an options object (headers, protocols); the DOM
    // typings in scope only know the protocols-array form.
    const options: Bun.WebSocketOptions = {
      protocols: ws.data.protocols,
      headers: ws.data.headers,
    };
    const upstream = new WebSocket(ws.data.target, options as unknown as string[]);
    upstream.binaryType = 'arraybuffer';
    ws.data.upstream = upstream;
    upstream.onopen = () => {
      for (const message of ws.data.pending)
        upstream.send(message as string | Uint8Array<ArrayBuffer>);
      ws.data.pending = [];
    };
    upstream.onmessage = (event) => {
      ws.send(
        typeof event.data === 'string' ? event.data : new Uint8Array(event.data as ArrayBuffer),
      );
    };
    upstream.onclose = (event) =>
      closeQuietly(ws, event.code === 1005 ? 1000 : event.code, event.reason);
    upstream.onerror = () => closeQuietly(ws, 1011, 'module unreachable');
  },
  message(ws, message) {
    const upstream = ws.data.upstream;
    if (upstream?.readyState === WebSocket.OPEN)
      upstream.send(message as string | Uint8Array<ArrayBuffer>);
    else ws.data.pending.push(message);
  },
  close(ws, code, reason) {
    const upstream = ws.data.upstream;
    if (upstream && upstream.readyState <= WebSocket.OPEN) {
      upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    }
  },
};

function closeQuietly(ws: ServerWebSocket<BridgeData>, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
