/**
 * Rate limits and latencies of the fake Fly Machines API (fake-fly.ts).
 *
 * Rate limits, as Fly documents them (../shared/notes/fly-machines-api.md):
 * per action, scoped by machine or app, 1 request/s sustained with a burst
 * of 3; GET machine 5/s with a burst of 10; app deletions 100/min. Beyond
 * that: 429 `{"error":"rate limit exceeded","status":"rate_limited"}`.
 * Whether Fly sends Retry-After is not documented, so the fake sends none.
 */

export interface RateLimits {
  perSecond: number;
  burst: number;
  /** GET machine. */
  getPerSecond: number;
  getBurst: number;
}

export const FLY_RATE_LIMITS: RateLimits = {
  perSecond: 1,
  burst: 3,
  getPerSecond: 5,
  getBurst: 10,
};

/** Token buckets, one per (action, scope). */
export class Buckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly limits: RateLimits) {}

  /** Takes a token for `step` on `scope`; false when the bucket is empty (answer 429). */
  take(step: string, scope: string): boolean {
    const [rate, burst] =
      step === 'machine.get'
        ? [this.limits.getPerSecond, this.limits.getBurst]
        : step === 'app.delete'
          ? [100 / 60, 100]
          : [this.limits.perSecond, this.limits.burst];
    const key = `${step} ${scope}`;
    const now = performance.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * Latencies for `latencyMs: 'realistic'`: how long each call takes before it
 * answers. Not measurements of the live API (there is no Fly account here):
 * they start from what Fly published and add an estimate per operation.
 * - A round trip to the Machines API in the same region: 20–50 ms; across
 *   the world ~300 ms (fly.io/blog/fly-machines). Reads: 80 ms (a European
 *   or US client to api.machines.dev, plus the token check).
 * - Token verification had a 500–1000 ms tail before Fly added API proxies
 *   (community.fly.io "We made the Machines API faster by adding Machines").
 * - Creations go through flyd on a worker (placement, reservation): app and
 *   volume creation ~0.7–1.5 s, machine create 1.2 s, update 0.8 s
 *   (estimates, the right order for "create is slower than update, which is
 *   slower than start" in Fly's own guidance).
 * - Boot (`REALISTIC_BOOT_MS`): the machine is `starting` for 2.5 s before
 *   its process runs: pulling a ~60 MB image onto the host (cached on a
 *   re-create) plus Fly's ~300 ms Firecracker boot.
 */
export const REALISTIC_LATENCY_MS: Record<string, number> = {
  read: 80,
  'app.create': 700,
  'app.delete': 300,
  'ip.assign': 500,
  'ip.delete': 300,
  'secrets.set': 400,
  'secret.set': 400,
  'secret.delete': 300,
  'volume.create': 1500,
  'volume.delete': 400,
  'machine.create': 1200,
  'machine.update': 800,
  'machine.start': 300,
  'machine.stop': 200,
  'machine.delete': 400,
  lease: 150,
  'lease.release': 100,
  'cert.create': 500,
};
export const REALISTIC_BOOT_MS = 2500;
/**
 * An ACME certificate is `configured` this long after it was requested
 * (an estimate: Let's Encrypt's TLS-ALPN validation through Fly's proxy
 * once the CNAME resolves, typically seconds).
 */
export const REALISTIC_CERT_MS = 5000;

/** Milliseconds to hold a call to `step` (a GET when `read`). */
export function latencyOf(
  option: number | 'realistic' | Record<string, number> | undefined,
  step: string,
  read: boolean,
): number {
  if (option === undefined) return 0;
  if (typeof option === 'number') return option;
  const table = option === 'realistic' ? REALISTIC_LATENCY_MS : option;
  return table[step] ?? (read ? (table.read ?? 0) : 0);
}
