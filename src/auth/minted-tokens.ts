import type { Database } from 'bun:sqlite';
import { revokeJti } from './jwt.ts';

/** One recorded mint (auth/mint.ts), as `GET /api/auth/tokens` lists it. */
export interface MintedToken {
  jti: string;
  user_id: string | null;
  subject: string;
  client_id: string;
  scope: string;
  audience: string;
  permissions: string | null;
  created_via: string;
  parent_jti: string | null;
  family_id: string | null;
  /** The connection (auth/connections.ts) whose credential this is, if any. */
  connection_id: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** How a recorded token came to be: the registry's `created_via`. */
export type MintedVia =
  | 'mint_token'
  | 'connection_credential'
  | 'vault_create'
  | 'agent_grant'
  | 'page';

/**
 * The registry of long-lived minted tokens (auth.md section 7, issue 15):
 * every mint that outlives ten minutes is here, so it can be listed and
 * revoked. Revoking puts its jti on the revocation list modules read, and
 * ends every token minted on its authority.
 */
export const mintedTokens = {
  record(db: Database, row: Omit<MintedToken, 'revoked_at'>): void {
    // Page mints (ten minutes) are kept only while they could be presented.
    db.run("DELETE FROM minted_tokens WHERE created_via = 'page' AND expires_at < ?", [
      Date.now() - 5 * 60 * 1000,
    ]);
    db.run(
      `INSERT INTO minted_tokens (jti, user_id, subject, client_id, scope, audience, permissions, created_via, parent_jti, family_id, connection_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.jti,
        row.user_id,
        row.subject,
        row.client_id,
        row.scope,
        row.audience,
        row.permissions,
        row.created_via,
        row.parent_jti,
        row.family_id,
        row.connection_id,
        row.created_at,
        row.expires_at,
      ],
    );
  },

  byJti(db: Database, jti: string): MintedToken | null {
    return db.query('SELECT * FROM minted_tokens WHERE jti = ?').get(jti) as MintedToken | null;
  },

  /**
   * A page of the registry, newest first: `cursor` is the last row of the
   * previous page (`<created_at>:<jti>`). Revoked and expired rows only when
   * `all`.
   */
  page(
    db: Database,
    options: { all: boolean; cursor: string | null; limit: number },
  ): { rows: MintedToken[]; next: string | null } {
    const [at, jti] = parseCursor(options.cursor);
    // Page mints are the hub's and modules' own sessions at work, not tokens
    // someone handed out: never listed.
    const live = `AND created_via != 'page' ${options.all ? '' : 'AND revoked_at IS NULL AND expires_at > ?'}`;
    const params: (number | string)[] = [at, at, jti];
    if (!options.all) params.push(Date.now());
    const rows = db
      .query(
        `SELECT * FROM minted_tokens
         WHERE (created_at < ? OR (created_at = ? AND jti < ?)) ${live}
         ORDER BY created_at DESC, jti DESC LIMIT ${options.limit + 1}`,
      )
      .all(...params) as MintedToken[];
    const more = rows.length > options.limit;
    const shown = rows.slice(0, options.limit);
    const last = shown.at(-1);
    return { rows: shown, next: more && last ? `${last.created_at}:${last.jti}` : null };
  },

  /**
   * Revokes a recorded token and, transitively, every token minted on its
   * authority. Returns when it was revoked (the first time, for a token
   * revoked before), or null for an unknown jti.
   */
  revoke(db: Database, jti: string, now = Date.now()): number | null {
    const row = mintedTokens.byJti(db, jti);
    if (!row) return null;
    db.transaction(() => {
      const pending = [jti];
      const seen = new Set<string>();
      while (pending.length > 0) {
        const next = pending.pop() as string;
        if (seen.has(next)) continue;
        seen.add(next);
        const token = mintedTokens.byJti(db, next);
        if (!token) continue;
        if (token.revoked_at === null) {
          db.run('UPDATE minted_tokens SET revoked_at = ? WHERE jti = ?', [now, next]);
          revokeJti(db, next, Math.ceil(token.expires_at / 1000));
        }
        const children = db
          .query('SELECT jti FROM minted_tokens WHERE parent_jti = ?')
          .all(next) as { jti: string }[];
        for (const child of children) pending.push(child.jti);
      }
    })();
    return mintedTokens.byJti(db, jti)?.revoked_at ?? now;
  },

  /** Revokes every live recorded token matching `where` (a column = value). */
  revokeWhere(
    db: Database,
    column: 'user_id' | 'family_id' | 'connection_id',
    value: string,
  ): number {
    const rows = db
      .query(`SELECT jti FROM minted_tokens WHERE ${column} = ? AND revoked_at IS NULL`)
      .all(value) as { jti: string }[];
    for (const { jti } of rows) mintedTokens.revoke(db, jti);
    return rows.length;
  },

  /** The live (unrevoked, unexpired) tokens of a connection, oldest first. */
  liveOfConnection(db: Database, connectionId: string): MintedToken[] {
    return db
      .query(
        `SELECT * FROM minted_tokens WHERE connection_id = ? AND revoked_at IS NULL AND expires_at > ?
         ORDER BY created_at`,
      )
      .all(connectionId, Date.now()) as MintedToken[];
  },

  /**
   * Deletes the rows of tokens naming vault `name` once they are revoked
   * (a deleted vault leaves nothing naming it behind): their jtis stay on
   * the revocation list (revoked_tokens) until they expire.
   */
  forgetNamingVault(db: Database, name: string): number {
    const rows = db
      .query('SELECT jti, scope FROM minted_tokens WHERE revoked_at IS NOT NULL')
      .all() as {
      jti: string;
      scope: string;
    }[];
    const naming = rows.filter((row) => namesVault(row.scope, name));
    for (const row of naming) db.run('DELETE FROM minted_tokens WHERE jti = ?', [row.jti]);
    return naming.length;
  },

  /** Revokes every live recorded token one of whose scopes names vault `name`. */
  revokeNamingVault(db: Database, name: string): number {
    const rows = db
      .query('SELECT jti, scope FROM minted_tokens WHERE revoked_at IS NULL AND expires_at > ?')
      .all(Date.now()) as { jti: string; scope: string }[];
    let count = 0;
    for (const row of rows) {
      if (namesVault(row.scope, name)) {
        mintedTokens.revoke(db, row.jti);
        count++;
      }
    }
    return count;
  },
};

/** True when one of the space-separated `scope`s is `vault:<name>:<verb>`. */
export function namesVault(scope: string, name: string): boolean {
  return scope.split(' ').some((s) => s.split(':')[0] === 'vault' && s.split(':')[1] === name);
}

function parseCursor(cursor: string | null): [number, string] {
  const match = cursor ? /^(\d+):(.+)$/.exec(cursor) : null;
  // No cursor: start above every row.
  if (!match) return [Number.MAX_SAFE_INTEGER, ''];
  return [Number(match[1]), match[2] as string];
}
