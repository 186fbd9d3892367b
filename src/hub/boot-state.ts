/** How far the hub has come since exec; /health and /api/ready report it. */
export interface BootState {
  /** True once the store is open and every route is mounted. */
  ready: boolean;
  /** `opening` until hub.db is open and migrated, then `ok`, or `error` if a query fails. */
  db: 'opening' | 'ok' | 'error';
  /** Counts for /health once the supervisor is up. */
  modules?: () => { running: number; total: number };
}

export function newBootState(): BootState {
  return { ready: false, db: 'opening' };
}
