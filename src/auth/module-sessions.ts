import type { Database } from 'bun:sqlite';
import { sha256Hex } from './hash.ts';
import { randomToken, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from './sessions.ts';
import type { User } from './users.ts';

/** How long a sign-in code may take from the hub's origin to the module's. */
const CODE_TTL_MS = 60_000;
/** Codes waiting to be redeemed; more than this means someone is minting them in a loop. */
const MAX_PENDING_CODES = 1000;
// Writing the hub session's last_seen_at on every module request would turn reads into writes.
const TOUCH_EVERY_MS = 60_000;

interface PendingCode {
  sessionIdHash: string;
  module: string;
  state: string;
  expiresAt: number;
}

/**
 * One-time codes that carry a signed-in hub session to one module's origin
 * (auth/module-session-routes.ts). In memory: they live a minute, and a
 * restart only means signing in to the module again.
 */
export class ModuleSessionCodes {
  private readonly codes = new Map<string, PendingCode>();

  /** A code for the hub session `sessionIdHash`, redeemable once, by `module`, with `state`. */
  issue(sessionIdHash: string, module: string, state: string, now = Date.now()): string {
    for (const [hash, code] of this.codes) if (code.expiresAt <= now) this.codes.delete(hash);
    // Oldest first (Map keeps insertion order): a flood pushes out its own codes.
    while (this.codes.size >= MAX_PENDING_CODES) {
      this.codes.delete(this.codes.keys().next().value as string);
    }
    const code = randomToken();
    this.codes.set(sha256Hex(code), { sessionIdHash, module, state, expiresAt: now + CODE_TTL_MS });
    return code;
  }

  /** The hub session a code stands for, if it is live and was issued for this module and state. Used up either way. */
  take(code: string, module: string, state: string, now = Date.now()): string | null {
    const hash = sha256Hex(code);
    const found = this.codes.get(hash);
    this.codes.delete(hash);
    if (!found || found.expiresAt <= now) return null;
    return found.module === module && found.state === state ? found.sessionIdHash : null;
  }
}

interface SessionRow {
  module: string;
  parent: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
}

/**
 * Sessions on a module's own origin: they name one module and the hub
 * session they came from, and end with it (sign out, password reset,
 * expiry). Stored by the SHA-256 of their cookie value, like hub sessions.
 */
export const moduleSessions = {
  /** Starts a session for `module` from a hub session; returns the cookie value. */
  create(db: Database, sessionIdHash: string, module: string): string {
    const token = randomToken();
    db.run(
      'INSERT INTO module_sessions (id_hash, session_id_hash, module, created_at) VALUES (?, ?, ?, ?)',
      [sha256Hex(token), sessionIdHash, module, Date.now()],
    );
    return token;
  },

  /** The user of a live session for exactly this module, or null. */
  find(db: Database, token: string, module: string, now = Date.now()): User | null {
    const row = db
      .query(
        `SELECT m.module, s.id_hash AS parent, s.user_id, s.created_at, s.last_seen_at
         FROM module_sessions m JOIN sessions s ON s.id_hash = m.session_id_hash
         WHERE m.id_hash = ?`,
      )
      .get(sha256Hex(token)) as SessionRow | null;
    if (!row || row.module !== module) return null;
    if (now - row.last_seen_at > SESSION_IDLE_MS || now - row.created_at > SESSION_ABSOLUTE_MS) {
      return null;
    }
    // Working in a module's UI is using the hub: it keeps the hub session alive.
    if (now - row.last_seen_at > TOUCH_EVERY_MS) {
      db.run('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [now, row.parent]);
    }
    return db.query('SELECT * FROM users WHERE id = ?').get(row.user_id) as User | null;
  },

  delete(db: Database, token: string): void {
    db.run('DELETE FROM module_sessions WHERE id_hash = ?', [sha256Hex(token)]);
  },
};
