import type { Database } from 'bun:sqlite';

/** What a user agreed one client may do (auth.md section 4). */
export interface Grant {
  id: string;
  user_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  updated_at: number;
}

export function scopeList(scope: string): string[] {
  return scope.split(' ').filter(Boolean);
}

export const grants = {
  find(db: Database, userId: string, clientId: string): Grant | null {
    return db
      .query('SELECT * FROM oauth_grants WHERE user_id = ? AND client_id = ?')
      .get(userId, clientId) as Grant | null;
  },

  byId(db: Database, id: string): Grant | null {
    return db.query('SELECT * FROM oauth_grants WHERE id = ?').get(id) as Grant | null;
  },

  /** Records consent; a later consent to more scopes widens the same grant. */
  record(db: Database, userId: string, clientId: string, scopes: string[]): Grant {
    const now = Date.now();
    const existing = grants.find(db, userId, clientId);
    if (existing) {
      const merged = [...new Set([...scopeList(existing.scope), ...scopes])].sort().join(' ');
      db.run('UPDATE oauth_grants SET scope = ?, updated_at = ? WHERE id = ?', [
        merged,
        now,
        existing.id,
      ]);
      return { ...existing, scope: merged, updated_at: now };
    }
    const id = `grant_${crypto.randomUUID()}`;
    const scope = [...new Set(scopes)].sort().join(' ');
    db.run(
      'INSERT INTO oauth_grants (id, user_id, client_id, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, userId, clientId, scope, now, now],
    );
    return { id, user_id: userId, client_id: clientId, scope, created_at: now, updated_at: now };
  },

  /** True when the grant already covers every scope in `scopes`. */
  covers(grant: Grant | null, scopes: string[]): boolean {
    if (!grant) return false;
    const held = new Set(scopeList(grant.scope));
    return scopes.every((s) => held.has(s));
  },

  /** Grants with their client's name and user, for the Connected apps page. */
  list(db: Database, userId: string | null) {
    const where = userId ? 'WHERE g.user_id = ?' : '';
    return db
      .query(
        `SELECT g.*, c.client_name, u.username FROM oauth_grants g
         JOIN oauth_clients c ON c.client_id = g.client_id
         JOIN users u ON u.id = g.user_id
         ${where} ORDER BY g.updated_at DESC`,
      )
      .all(...(userId ? [userId] : [])) as (Grant & {
      client_name: string | null;
      username: string;
    })[];
  },
};

/** Vaults assigned to non-admin users (auth.md section 6). */
export const userVaults = {
  of(db: Database, userId: string): string[] {
    return (
      db.query('SELECT vault FROM user_vaults WHERE user_id = ? ORDER BY vault').all(userId) as {
        vault: string;
      }[]
    ).map((r) => r.vault);
  },

  set(db: Database, userId: string, vaults: string[]): void {
    db.transaction(() => {
      db.run('DELETE FROM user_vaults WHERE user_id = ?', [userId]);
      for (const vault of new Set(vaults)) {
        db.run('INSERT INTO user_vaults (user_id, vault) VALUES (?, ?)', [userId, vault]);
      }
    })();
  },
};
