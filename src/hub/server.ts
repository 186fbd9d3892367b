import type { Server } from 'bun';
import { type BridgeData, wsBridge } from './ws-bridge.ts';

export type HubServer = Server<BridgeData>;

/** Returns a Response, or undefined once it upgraded the request to a WebSocket. */
export type FetchHandler = (
  request: Request,
  server: HubServer,
) => Response | undefined | Promise<Response | undefined>;

/** The hub port is taken by someone else; the hub never falls back to another port. */
export class PortInUseError extends Error {
  constructor(
    readonly hostname: string,
    readonly port: number,
  ) {
    super(`port ${port} on ${hostname} is already in use`);
    this.name = 'PortInUseError';
  }
}

/** Binds the hub's one HTTP port. `fetch` is looked up per request so boot can swap the app in. */
export function bindServer(options: {
  hostname: string;
  port: number;
  fetch: FetchHandler;
}): HubServer {
  try {
    return Bun.serve<BridgeData>({
      hostname: options.hostname,
      port: options.port,
      // Two hubs on one port would split traffic at random; refuse instead.
      reusePort: false,
      // Log streams (SSE) send a heartbeat every 15 s; anything idler is closed.
      idleTimeout: 60,
      // Bodies for modules stream through the proxy at any size (a 1 GB
      // upload must pass); the hub's own routes have their own limit.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // Bun accepts undefined after server.upgrade(); its types want a Response.
      fetch: options.fetch as (request: Request, server: HubServer) => Response | Promise<Response>,
      // Module WebSockets, bridged (hub/ws-bridge.ts).
      websocket: wsBridge,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || /in use/i.test(String(error))) {
      throw new PortInUseError(options.hostname, options.port);
    }
    throw error;
  }
}
