import { ipv6 } from '../platform/ip-address.ts';

/** auth.md section 6: 5 failures per 15 min per (IP, username), 60 per 15 min per IP. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const FAILURES_PER_ACCOUNT = 5;
export const FAILURES_PER_IP = 60;
// Bounds memory under a spray of keys from many addresses.
const MAX_KEYS = 50_000;

/** In-memory sliding-window event counts per key, bounded in keys (the least recently used go first). */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  /** Seconds until `key` may have another event without exceeding `limit`, or 0 now. */
  wait(key: string, limit: number, now = Date.now()): number {
    const list = this.recent(key, now);
    if (list.length < limit) return 0;
    const oldestCounted = list[list.length - limit] as number;
    return Math.max(1, Math.ceil((oldestCounted + this.windowMs - now) / 1000));
  }

  record(key: string, now = Date.now()): void {
    const list = this.recent(key, now);
    list.push(now);
    // Re-inserted, so the Map's order is least recently used first.
    this.events.delete(key);
    this.events.set(key, list);
    while (this.events.size > MAX_KEYS) {
      this.events.delete(this.events.keys().next().value as string);
    }
  }

  /** Takes back one event recorded at `at` (an attempt that turned out not to count). */
  unrecord(key: string, at: number): void {
    const list = this.events.get(key);
    const i = list?.indexOf(at) ?? -1;
    if (i >= 0) list?.splice(i, 1);
  }

  forget(key: string): void {
    this.events.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const list = (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length === 0) this.events.delete(key);
    else this.events.set(key, list);
    return list;
  }
}

/**
 * The key an address is counted under: an IPv6 address by its /64, the
 * smallest block a network hands a host, so one machine cannot get around a
 * limit by rotating through its 2^64 addresses. IPv4 addresses (also in
 * their `::ffff:` form) count one by one.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const w = ipv6(ip);
  if (w === null) return ip;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
    return [w[3] >>> 24, (w[3] >>> 16) & 255, (w[3] >>> 8) & 255, w[3] & 255].join('.');
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  return `${hex(w[0])}${hex(w[1])}::/64`;
}

/** What became of one guess: not checked (limited), or checked and found right or wrong. */
export type Guess =
  | { outcome: 'limited'; retryAfterSeconds: number }
  | { outcome: 'right' | 'wrong' };

/** Failed logins, counted per address (an IPv6 /64) and per (address, account). */
export class LoginRateLimiter {
  private readonly failures = new SlidingWindow(LOGIN_WINDOW_MS);

  /**
   * Checks one guess (a password or a second factor) for `username` from `ip`
   * unless a limit is reached. The guess counts as a failure from the moment
   * its check starts and is taken back only when it was right: argon2 takes
   * tens of milliseconds, and recording failures after it let 300 concurrent
   * wrong passwords all be checked (auth.md section 6: a burst is limited
   * exactly like a sequence). A check that throws stays a failure.
   */
  async guess(
    ip: string,
    username: string,
    check: () => boolean | Promise<boolean>,
  ): Promise<Guess> {
    const startedAt = Date.now();
    const wait = this.retryAfterSeconds(ip, username, startedAt);
    if (wait > 0) return { outcome: 'limited', retryAfterSeconds: wait };
    this.recordFailure(ip, username, startedAt);
    if (!(await check())) return { outcome: 'wrong' };
    this.failures.unrecord(ipKey(ip), startedAt);
    this.failures.unrecord(pairKey(ip, username), startedAt);
    return { outcome: 'right' };
  }

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfterSeconds(ip: string, username: string, now = Date.now()): number {
    return Math.max(
      this.failures.wait(ipKey(ip), FAILURES_PER_IP, now),
      this.failures.wait(pairKey(ip, username), FAILURES_PER_ACCOUNT, now),
    );
  }

  recordFailure(ip: string, username: string, now = Date.now()): void {
    this.failures.record(ipKey(ip), now);
    this.failures.record(pairKey(ip, username), now);
  }

  /** A completed sign-in clears that account's failures from that address. */
  recordSuccess(ip: string, username: string): void {
    this.failures.forget(pairKey(ip, username));
  }
}

function ipKey(ip: string): string {
  return `ip:${addressKey(ip)}`;
}

function pairKey(ip: string, username: string): string {
  return `pair:${addressKey(ip)}:${username.toLowerCase()}`;
}
