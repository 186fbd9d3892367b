/** How often the gate tries to connect once a module is slow (modules.md section 5). */
export const READY_POLL_MS = 100;
// Most modules listen within milliseconds of exec: probe quickly at first,
// so `running` is reported when the port opens, not up to 100 ms later.
const FIRST_PROBES_MS = [5, 10, 20, 40];

/** True if a TCP connection to host:port is accepted right now. */
export async function acceptsConnections(port: number, hostname = '127.0.0.1'): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname, port, socket: { data() {}, error() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls a TCP connect to the module's port (quickly at first, then every
 * 100 ms) until it is
 * accepted ('ready'), `timeoutMs` passes ('timeout') or `isCancelled()`
 * says the attempt no longer matters ('cancelled': the child exited or was
 * stopped). The clock is monotonic.
 */
export async function waitUntilListening(
  port: number,
  options: { hostname?: string; timeoutMs: number; isCancelled: () => boolean },
): Promise<'ready' | 'timeout' | 'cancelled'> {
  const deadline = performance.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (options.isCancelled()) return 'cancelled';
    if (await acceptsConnections(port, options.hostname)) {
      return options.isCancelled() ? 'cancelled' : 'ready';
    }
    if (performance.now() >= deadline) return 'timeout';
    const pause = FIRST_PROBES_MS[attempt] ?? READY_POLL_MS;
    await Bun.sleep(Math.min(pause, Math.max(0, deadline - performance.now())));
  }
}
