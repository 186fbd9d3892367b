import type { Database } from 'bun:sqlite';
import { sha256Hex } from './hash.ts';
import type { User } from './users.ts';

/** auth.md section 6: idle expiry 14 days, absolute 90 days. */
export const SESSION_IDLE_MS = 14 * 24 * 3600 * 1000;
export const SESSION_ABSOLUTE_MS = 90 * 24 * 3600 * 1000;
// Writing last_seen_at on every request would turn reads into writes.
const TOUCH_EVERY_MS = 60 * 1000;

export interface Session {
  id_hash: string;
  user_id: string;
  csrf_hash: string;
  created_at: number;
  last_seen_at: number;
}

/** Random 256-bit secret in cookie-safe form. */
export function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
}

/**
 * Sessions live in hub.db keyed by the SHA-256 of their cookie value, so a
 * copy of the database (a backup, an export) cannot be replayed as a login.
 */
export const sessions = {
  /** Starts a session; the returned secrets are shown to the client once and never stored. */
  create(db: Database, userId: string, meta: { ip?: string | null; userAgent?: string | null }) {
    const token = randomToken();
    const csrfToken = randomToken();
    const now = Date.now();
    db.run(
      'INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, last_seen_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        sha256Hex(token),
        userId,
        sha256Hex(csrfToken),
        now,
        now,
        meta.ip ?? null,
        meta.userAgent?.slice(0, 256) ?? null,
      ],
    );
    return { token, csrfToken };
  },

  /** The live session and its user for a cookie value, or null (expired sessions are deleted). */
  find(db: Database, token: string, now = Date.now()): { session: Session; user: User } | null {
    const idHash = sha256Hex(token);
    const session = db
      .query('SELECT * FROM sessions WHERE id_hash = ?')
      .get(idHash) as Session | null;
    if (!session) return null;
    if (
      now - session.last_seen_at > SESSION_IDLE_MS ||
      now - session.created_at > SESSION_ABSOLUTE_MS
    ) {
      db.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
      return null;
    }
    const user = db.query('SELECT * FROM users WHERE id = ?').get(session.user_id) as User | null;
    if (!user) return null;
    if (now - session.last_seen_at > TOUCH_EVERY_MS) {
      db.run('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [now, idHash]);
    }
    return { session, user };
  },

  /** A user's live sessions, newest first, as the account page lists them. */
  listForUser(db: Database, userId: string, now = Date.now()) {
    return db
      .query(
        'SELECT id_hash, created_at, last_seen_at, ip, user_agent FROM sessions WHERE user_id = ? AND last_seen_at >= ? AND created_at >= ? ORDER BY last_seen_at DESC',
      )
      .all(userId, now - SESSION_IDLE_MS, now - SESSION_ABSOLUTE_MS) as {
      id_hash: string;
      created_at: number;
      last_seen_at: number;
      ip: string | null;
      user_agent: string | null;
    }[];
  },

  delete(db: Database, idHash: string): void {
    db.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
  },

  deleteForUser(db: Database, userId: string, exceptIdHash?: string): void {
    db.run('DELETE FROM sessions WHERE user_id = ? AND id_hash != ?', [userId, exceptIdHash ?? '']);
  },

  /** Drops sessions past their idle or absolute expiry. */
  prune(db: Database, now = Date.now()): void {
    db.run('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?', [
      now - SESSION_IDLE_MS,
      now - SESSION_ABSOLUTE_MS,
    ]);
  },
};
