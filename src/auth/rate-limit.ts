/** auth.md section 6: 5 failures per 15 min per (IP, username), 60 per 15 min per IP. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const FAILURES_PER_ACCOUNT = 5;
export const FAILURES_PER_IP = 60;
// Bounds memory under a spray of usernames from many addresses.
const MAX_KEYS = 50_000;

/** In-memory sliding-window counter of failed logins. */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfterSeconds(ip: string, username: string, now = Date.now()): number {
    const waits = [
      this.wait(`ip:${ip}`, FAILURES_PER_IP, now),
      this.wait(`pair:${ip}:${username.toLowerCase()}`, FAILURES_PER_ACCOUNT, now),
    ];
    return Math.max(...waits);
  }

  recordFailure(ip: string, username: string, now = Date.now()): void {
    for (const key of [`ip:${ip}`, `pair:${ip}:${username.toLowerCase()}`]) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.delete(key);
      this.failures.set(key, list);
    }
    while (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  /** A successful login clears that account's failures from that address. */
  recordSuccess(ip: string, username: string): void {
    this.failures.delete(`pair:${ip}:${username.toLowerCase()}`);
  }

  private wait(key: string, limit: number, now: number): number {
    const list = this.recent(key, now);
    if (list.length < limit) return 0;
    const oldestCounted = list[list.length - limit] as number;
    return Math.max(1, Math.ceil((oldestCounted + LOGIN_WINDOW_MS - now) / 1000));
  }

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < LOGIN_WINDOW_MS);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }
}
