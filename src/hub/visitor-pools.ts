/**
 * Keep-alive connections to modules, one pool per visitor connection
 * (modules.md section 7: a connection to a module is never shared by two
 * visitors' connections, so bytes a module writes out of turn can only ever
 * reach the visitor whose request it was answering).
 *
 * Bun.serve does not say which connection a request came on, nor when one
 * closed. While a TCP connection is open, its peer address and port name it
 * and nothing else; a pool keyed by them is that connection's. It is closed
 * after IDLE_MS without a request, long before the same address and port
 * could name another visitor's connection: the peer's own TCP stack keeps a
 * closed connection's port for TIME_WAIT (60 s on Linux), and a NAT keeps a
 * closed mapping for minutes (RFC 5382 section 5, RFC 7857 section 2) before
 * giving its port to anyone else. A request whose peer is unknown, or that
 * comes while the table is full, gets a connection of its own that closes
 * after its answer.
 */

/** A visitor connection's pool is closed after this long without a request. */
export const VISITOR_POOL_IDLE_MS = 2_000;
/** Most visitor connections with a pool at once; beyond it, a connection per request. */
export const MAX_VISITOR_POOLS = 1_024;

interface Pool {
  session: Bun.FetchSession;
  lastUsed: number;
}

export class VisitorPools {
  private readonly pools = new Map<string, Pool>();
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly idleMs = VISITOR_POOL_IDLE_MS,
    private readonly max = MAX_VISITOR_POOLS,
  ) {}

  /**
   * The pool of the visitor connection from `address`:`port`, made on first
   * use; null when the peer is unknown or the table is full.
   */
  session(address: string | undefined, port: number | undefined): Bun.FetchSession | null {
    if (!address || !port) return null;
    const key = `${address}|${port}`;
    const now = performance.now();
    let pool = this.pools.get(key);
    if (!pool) {
      if (this.pools.size >= this.max) return null;
      // Bun's own idle timer is coarse (4 s steps): the sweep below is what closes it on time.
      pool = { session: new Bun.FetchSession({ keepAlive: { idleTimeout: 4 } }), lastUsed: now };
      this.pools.set(key, pool);
      this.startSweeping();
    }
    pool.lastUsed = now;
    return pool.session;
  }

  /** How many visitor connections have a pool now. */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool (shutdown). */
  closeAll(): void {
    for (const pool of this.pools.values()) pool.session.close();
    this.pools.clear();
    this.stopSweeping();
  }

  /**
   * Closes pools idle for idleMs. close() ends only idle connections; one
   * still carrying an answer finishes it and is then unreachable, since the
   * pool is no longer in the table, until Bun's own timer closes it.
   */
  private sweep(): void {
    const oldest = performance.now() - this.idleMs;
    for (const [key, pool] of this.pools) {
      if (pool.lastUsed > oldest) continue;
      pool.session.close();
      this.pools.delete(key);
    }
    if (this.pools.size === 0) this.stopSweeping();
  }

  private startSweeping(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, this.idleMs / 4));
    // Pools must never be what keeps the hub's process alive.
    this.sweeper.unref();
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
