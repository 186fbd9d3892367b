import type { Database } from 'bun:sqlite';
import { mintedTokens } from './minted-tokens.ts';
import { families } from './oauth/tokens.ts';

export type Role = 'admin' | 'user';

/** A user row as the hub uses it. */
export interface User {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  must_change_password: number;
  totp_secret: string | null;
  totp_enabled: number;
  totp_last_step: number | null;
  tokens_valid_after: number;
  created_at: number;
}

/** What the API shows of a user: never hashes or secrets. */
export function publicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    totp_enabled: user.totp_enabled === 1,
    password_change_required: user.must_change_password === 1,
    created_at: new Date(user.created_at).toISOString(),
  };
}

export const USERNAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

/** Users in hub.db. */
export const users = {
  count(db: Database, role?: Role): number {
    const row = role
      ? db.query('SELECT COUNT(*) AS n FROM users WHERE role = ?').get(role)
      : db.query('SELECT COUNT(*) AS n FROM users').get();
    return (row as { n: number }).n;
  },
  byId(db: Database, id: string): User | null {
    return db.query('SELECT * FROM users WHERE id = ?').get(id) as User | null;
  },
  byUsername(db: Database, username: string): User | null {
    return db.query('SELECT * FROM users WHERE username = ?').get(username) as User | null;
  },
  list(db: Database): User[] {
    return db.query('SELECT * FROM users ORDER BY created_at').all() as User[];
  },
  create(
    db: Database,
    fields: { username: string; passwordHash: string; role: Role; mustChangePassword: boolean },
  ): User {
    const id = `usr_${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url')}`;
    const now = Date.now();
    db.run(
      'INSERT INTO users (id, username, password_hash, role, must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        id,
        fields.username,
        fields.passwordHash,
        fields.role,
        fields.mustChangePassword ? 1 : 0,
        now,
        now,
      ],
    );
    return users.byId(db, id) as User;
  },
  setPassword(db: Database, id: string, passwordHash: string, mustChange: boolean): void {
    db.run(
      'UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ?',
      [passwordHash, mustChange ? 1 : 0, Date.now(), id],
    );
  },
  /**
   * Every token issued to this user before now stops working. Apps' access
   * tokens also join the revocation list, which modules check (they cannot
   * see tokens_valid_after).
   */
  invalidateTokens(db: Database, id: string): void {
    families.revokeWhere(db, 'user_id', id);
    mintedTokens.revokeWhere(db, 'user_id', id);
    // A code issued a moment ago would otherwise still start a new family.
    db.run('DELETE FROM oauth_codes WHERE user_id = ? AND used_at IS NULL', [id]);
    db.run('UPDATE users SET tokens_valid_after = ?, updated_at = ? WHERE id = ?', [
      Date.now(),
      Date.now(),
      id,
    ]);
  },
  delete(db: Database, id: string): void {
    families.revokeWhere(db, 'user_id', id);
    mintedTokens.revokeWhere(db, 'user_id', id);
    db.run('DELETE FROM users WHERE id = ?', [id]);
  },
};
