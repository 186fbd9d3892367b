/** How often the gate tries to connect (modules.md section 5). */
export const READY_POLL_MS = 100;

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
 * Polls a TCP connect to the module's port every 100 ms until it is
 * accepted ('ready'), `timeoutMs` passes ('timeout') or `isCancelled()`
 * says the attempt no longer matters ('cancelled': the child exited or was
 * stopped). The clock is monotonic.
 */
export async function waitUntilListening(
  port: number,
  options: { hostname?: string; timeoutMs: number; isCancelled: () => boolean },
): Promise<'ready' | 'timeout' | 'cancelled'> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    if (options.isCancelled()) return 'cancelled';
    if (await acceptsConnections(port, options.hostname))
      return options.isCancelled() ? 'cancelled' : 'ready';
    if (performance.now() >= deadline) return 'timeout';
    await Bun.sleep(Math.min(READY_POLL_MS, Math.max(0, deadline - performance.now())));
  }
}
