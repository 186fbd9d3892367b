import type { Server } from 'bun';

export type FetchHandler = (
  request: Request,
  server: Server<undefined>,
) => Response | Promise<Response>;

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
}): Server<undefined> {
  try {
    return Bun.serve({
      hostname: options.hostname,
      port: options.port,
      // Two hubs on one port would split traffic at random; refuse instead.
      reusePort: false,
      // Log streams (SSE) send a heartbeat every 15 s; anything idler is closed.
      idleTimeout: 60,
      fetch: options.fetch,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || /in use/i.test(String(error))) {
      throw new PortInUseError(options.hostname, options.port);
    }
    throw error;
  }
}
