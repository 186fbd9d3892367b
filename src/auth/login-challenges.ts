import { randomToken } from './sessions.ts';

const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const MAX_ATTEMPTS = 5;

/**
 * The step between a correct password and a correct second factor: an
 * opaque, short-lived, few-attempt ticket held in memory.
 */
export class LoginChallenges {
  private readonly pending = new Map<
    string,
    { userId: string; expiresAt: number; attempts: number }
  >();

  /** Starts a challenge for a user whose password was right. */
  start(userId: string, now = Date.now()): string {
    for (const [key, c] of this.pending) if (c.expiresAt < now) this.pending.delete(key);
    const challenge = randomToken();
    this.pending.set(challenge, { userId, expiresAt: now + CHALLENGE_TTL_MS, attempts: 0 });
    return challenge;
  }

  /** The user a live challenge belongs to, counting an attempt; null when expired or used up. */
  attempt(challenge: string, now = Date.now()): string | null {
    const c = this.pending.get(challenge);
    if (!c || c.expiresAt < now || c.attempts >= MAX_ATTEMPTS) {
      this.pending.delete(challenge);
      return null;
    }
    c.attempts++;
    return c.userId;
  }

  finish(challenge: string): void {
    this.pending.delete(challenge);
  }
}
