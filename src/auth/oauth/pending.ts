import { randomToken } from '../sessions.ts';
import type { DroppedScope } from './issuer.ts';

/** A validated authorization request waiting for the user's decision on the consent page. */
export interface PendingAuthorization {
  id: string;
  userId: string;
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  /** Exact scopes requested, minus broad `vault:<verb>` ones. */
  scopes: string[];
  /** Verbs of broad `vault:<verb>` requests, to be narrowed to vaults the user picks. */
  vaultVerbs: string[];
  /** Requested scopes left out, shown on the consent page so nothing is hidden. */
  dropped: DroppedScope[];
  resource: string | null;
  expiresAt: number;
}

/** Long enough to read a consent page; short enough that a stale tab cannot be used later. */
const TTL_MS = 10 * 60 * 1000;
const MAX_PENDING = 1000;

/**
 * Authorization requests between GET /oauth/authorize and the user's
 * decision. In memory: a hub restart only means connecting again.
 */
export class PendingAuthorizations {
  private readonly byId = new Map<string, PendingAuthorization>();

  add(request: Omit<PendingAuthorization, 'id' | 'expiresAt'>): PendingAuthorization {
    this.prune();
    const pending = { ...request, id: randomToken(), expiresAt: Date.now() + TTL_MS };
    this.byId.set(pending.id, pending);
    return pending;
  }

  /** The live request with this id, if it belongs to `userId`. */
  get(id: string, userId: string): PendingAuthorization | null {
    const pending = this.byId.get(id);
    if (!pending || pending.userId !== userId) return null;
    if (pending.expiresAt < Date.now()) {
      this.byId.delete(id);
      return null;
    }
    return pending;
  }

  /** Used once: a decision consumes the request. */
  take(id: string, userId: string): PendingAuthorization | null {
    const pending = this.get(id, userId);
    if (pending) this.byId.delete(id);
    return pending;
  }

  /** Drops every request `matches` picks (their vault was deleted); returns how many. */
  dropWhere(matches: (pending: PendingAuthorization) => boolean): number {
    let dropped = 0;
    for (const [id, p] of this.byId) {
      if (!matches(p)) continue;
      this.byId.delete(id);
      dropped++;
    }
    return dropped;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, p] of this.byId) if (p.expiresAt < now) this.byId.delete(id);
    // Oldest first: Map keeps insertion order.
    while (this.byId.size >= MAX_PENDING) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
    }
  }
}
