import type { Database } from 'bun:sqlite';
import { sha256Hex } from '../hash.ts';
import { revokeJti, signToken } from '../jwt.ts';
import { mintedTokens } from '../minted-tokens.ts';
import { randomToken } from '../sessions.ts';
import type { SigningKeys } from '../signing-keys.ts';

/** auth.md section 3. */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
export const CODE_TTL_MS = 60 * 1000;
/** A retried refresh (the answer was lost on the network) is not treated as theft. */
export const REFRESH_GRACE_MS = 30 * 1000;

/** What an authorization code, and the family it starts, is bound to. */
export interface Authorization {
  clientId: string;
  userId: string;
  grantId: string;
  scope: string;
  resource: string | null;
  /** The token's `aud`: one audience name, or [name, resource URL]. */
  audience: string | string[];
}

interface CodeRow {
  code_hash: string;
  client_id: string;
  user_id: string;
  grant_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  resource: string | null;
  audience: string;
  expires_at: number;
  used_at: number | null;
  family_id: string | null;
}

export interface Family {
  id: string;
  grant_id: string;
  client_id: string;
  user_id: string;
  scope: string;
  resource: string | null;
  audience: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number;
}

interface RefreshRow {
  token_hash: string;
  family_id: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
  successor_hash: string | null;
}

/** A refusal at the token endpoint, with its RFC 6749 code. */
export class GrantError extends Error {
  constructor(
    readonly code: 'invalid_grant' | 'invalid_target' | 'invalid_scope' | 'invalid_request',
    readonly description: string,
  ) {
    super(description);
  }
}

/** The vault a `vault:<name>:<verb>` scope names, or null. */
export function vaultOfScope(scope: string): string | null {
  return /^vault:([^:]+):[a-z]+$/.exec(scope)?.[1] ?? null;
}

/** RFC 7636: the S256 challenge of a verifier (43-128 unreserved characters). */
export function pkceChallenge(verifier: string): string | null {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return null;
  return new Bun.CryptoHasher('sha256').update(verifier).digest('base64url');
}

export const codes = {
  /** Issues a single-use code; only its hash is stored. */
  issue(
    db: Database,
    auth: Authorization,
    binding: { redirectUri: string; codeChallenge: string },
  ): string {
    const code = randomToken();
    db.run(
      `INSERT INTO oauth_codes (code_hash, client_id, user_id, grant_id, redirect_uri, code_challenge, scope, resource, audience, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        sha256Hex(code),
        auth.clientId,
        auth.userId,
        auth.grantId,
        binding.redirectUri,
        binding.codeChallenge,
        auth.scope,
        auth.resource,
        JSON.stringify(auth.audience),
        Date.now() + CODE_TTL_MS,
      ],
    );
    db.run('DELETE FROM oauth_codes WHERE expires_at < ?', [Date.now() - CODE_TTL_MS]);
    return code;
  },

  /**
   * Redeems a code exactly once. Replaying a used code revokes the tokens
   * its first use issued (RFC 6749 section 4.1.2): one of the two callers
   * stole it, and the hub cannot tell which.
   */
  redeem(
    db: Database,
    code: string,
    check: { clientId: string; redirectUri: string | null; codeVerifier: string },
  ): Authorization & { markUsed: (familyId: string) => void } {
    const codeHash = sha256Hex(code);
    const row = db
      .query('SELECT * FROM oauth_codes WHERE code_hash = ?')
      .get(codeHash) as CodeRow | null;
    if (!row) throw new GrantError('invalid_grant', 'The authorization code is unknown.');
    if (row.used_at !== null) {
      if (row.family_id) families.revoke(db, row.family_id);
      throw new GrantError(
        'invalid_grant',
        'The authorization code was already used; the tokens it issued are revoked.',
      );
    }
    // Whatever happens next, this code cannot be tried again.
    db.run('UPDATE oauth_codes SET used_at = ? WHERE code_hash = ?', [Date.now(), codeHash]);
    if (row.expires_at < Date.now()) {
      throw new GrantError('invalid_grant', 'The authorization code expired; authorize again.');
    }
    if (row.client_id !== check.clientId) {
      throw new GrantError('invalid_grant', 'The authorization code was issued to another client.');
    }
    if (check.redirectUri === null || check.redirectUri !== row.redirect_uri) {
      throw new GrantError(
        'invalid_grant',
        'redirect_uri must be the one sent to the authorization endpoint.',
      );
    }
    if (pkceChallenge(check.codeVerifier) !== row.code_challenge) {
      throw new GrantError('invalid_grant', 'code_verifier does not match the code_challenge.');
    }
    return {
      clientId: row.client_id,
      userId: row.user_id,
      grantId: row.grant_id,
      scope: row.scope,
      resource: row.resource,
      audience: JSON.parse(row.audience),
      markUsed: (familyId) =>
        db.run('UPDATE oauth_codes SET family_id = ? WHERE code_hash = ?', [familyId, codeHash]),
    };
  },
};

export const families = {
  byId(db: Database, id: string): Family | null {
    return db.query('SELECT * FROM oauth_families WHERE id = ?').get(id) as Family | null;
  },

  start(db: Database, auth: Authorization): Family {
    const now = Date.now();
    // Families nobody refreshed for 30 days are over; their rows go too.
    db.run('DELETE FROM oauth_families WHERE expires_at < ?', [now]);
    const family: Family = {
      id: `tok_${crypto.randomUUID()}`,
      grant_id: auth.grantId,
      client_id: auth.clientId,
      user_id: auth.userId,
      scope: auth.scope,
      resource: auth.resource,
      audience: JSON.stringify(auth.audience),
      created_at: now,
      last_used_at: now,
      expires_at: now + REFRESH_TOKEN_TTL_MS,
    };
    db.run(
      `INSERT INTO oauth_families (id, grant_id, client_id, user_id, scope, resource, audience, created_at, last_used_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        family.id,
        family.grant_id,
        family.client_id,
        family.user_id,
        family.scope,
        family.resource,
        family.audience,
        family.created_at,
        family.last_used_at,
        family.expires_at,
      ],
    );
    return family;
  },

  /** Families still usable, with their newest refresh token's expiry. */
  listForGrant(db: Database, grantId: string): Family[] {
    return db
      .query(
        'SELECT * FROM oauth_families WHERE grant_id = ? AND expires_at > ? ORDER BY created_at',
      )
      .all(grantId, Date.now()) as Family[];
  },

  /** Ends a family: its refresh tokens stop working and its access tokens join the revocation list. */
  revoke(db: Database, familyId: string): void {
    db.transaction(() => {
      const live = db
        .query(
          'SELECT jti, expires_at FROM oauth_access_tokens WHERE family_id = ? AND expires_at > ?',
        )
        .all(familyId, Date.now()) as { jti: string; expires_at: number }[];
      for (const t of live) revokeJti(db, t.jti, Math.ceil(t.expires_at / 1000));
      // Tokens an app minted with this sign-in's access tokens end with it.
      mintedTokens.revokeWhere(db, 'family_id', familyId);
      db.run('DELETE FROM oauth_families WHERE id = ?', [familyId]);
    })();
  },

  /**
   * A user no longer holds vaults outside `vaults` (an admin unassigned
   * them): their families and unused codes naming such a vault end now, so
   * apps keep nothing the user could not grant today (auth.md section 4).
   */
  revokeOutsideVaults(db: Database, userId: string, vaults: string[]): void {
    const keep = new Set(vaults);
    const outside = (scope: string) =>
      scope.split(' ').some((s) => {
        const vault = vaultOfScope(s);
        return vault !== null && !keep.has(vault);
      });
    const live = db.query('SELECT id, scope FROM oauth_families WHERE user_id = ?').all(userId) as {
      id: string;
      scope: string;
    }[];
    for (const f of live) if (outside(f.scope)) families.revoke(db, f.id);
    const unused = db
      .query('SELECT code_hash, scope FROM oauth_codes WHERE user_id = ? AND used_at IS NULL')
      .all(userId) as { code_hash: string; scope: string }[];
    for (const c of unused) {
      if (outside(c.scope)) db.run('DELETE FROM oauth_codes WHERE code_hash = ?', [c.code_hash]);
    }
  },

  revokeWhere(db: Database, column: 'grant_id' | 'client_id' | 'user_id', value: string): void {
    const ids = db.query(`SELECT id FROM oauth_families WHERE ${column} = ?`).all(value) as {
      id: string;
    }[];
    for (const { id } of ids) families.revoke(db, id);
  },
};

export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** Adds a new refresh token to the family (synchronously, so two requests cannot both rotate). */
export function newRefreshToken(db: Database, familyId: string): string {
  const refresh = randomToken();
  const now = Date.now();
  db.run(
    'INSERT INTO oauth_refresh_tokens (token_hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
    [sha256Hex(refresh), familyId, now, now + REFRESH_TOKEN_TTL_MS],
  );
  db.run('UPDATE oauth_families SET last_used_at = ?, expires_at = ? WHERE id = ?', [
    now,
    now + REFRESH_TOKEN_TTL_MS,
    familyId,
  ]);
  // Rotated tokens are kept to detect replay until they would have expired anyway.
  db.run('DELETE FROM oauth_refresh_tokens WHERE family_id = ? AND expires_at < ?', [
    familyId,
    now,
  ]);
  return refresh;
}

/** Signs an access token for the family and records its jti, so revoking the family reaches it. */
export async function issueTokens(
  db: Database,
  keys: SigningKeys,
  issuer: string,
  family: Family,
  scope: string,
  refreshToken: string,
): Promise<IssuedTokens> {
  const scopes = scope.split(' ').filter(Boolean);
  const vaults = [...new Set(scopes.flatMap((s) => vaultOfScope(s) ?? []))];
  const { token, jti, exp } = await signToken(keys, {
    iss: issuer,
    sub: family.user_id,
    aud: JSON.parse(family.audience),
    scope,
    client_id: family.client_id,
    vault_scope: vaults,
    ttlSeconds: ACCESS_TOKEN_TTL_S,
  });
  const now = Date.now();
  if (!families.byId(db, family.id)) {
    // Revoked while the token was being signed: it must not outlive the family.
    revokeJti(db, jti, exp);
    throw new GrantError('invalid_grant', 'This sign-in was revoked; authorize again.');
  }
  db.run('INSERT INTO oauth_access_tokens (jti, family_id, expires_at) VALUES (?, ?, ?)', [
    jti,
    family.id,
    exp * 1000,
  ]);
  db.run('DELETE FROM oauth_access_tokens WHERE family_id = ? AND expires_at < ?', [
    family.id,
    now,
  ]);
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_TTL_S,
    refresh_token: refreshToken,
    scope,
  };
}

/**
 * Accepts a refresh token and rotates it (auth.md section 3), returning the
 * new one. Presenting a rotated token again means two parties hold the
 * chain: the whole family is revoked, unless it is the immediate
 * predecessor of the live token within the grace period (a client retrying
 * after a lost answer). Runs synchronously, so concurrent uses serialise.
 */
export function useRefreshToken(
  db: Database,
  token: string,
  clientId: string,
): { family: Family; refreshToken: string } {
  const hash = sha256Hex(token);
  const row = db
    .query('SELECT * FROM oauth_refresh_tokens WHERE token_hash = ?')
    .get(hash) as RefreshRow | null;
  const family = row ? families.byId(db, row.family_id) : null;
  if (!row || !family) {
    throw new GrantError('invalid_grant', 'The refresh token is unknown or was revoked.');
  }
  if (family.client_id !== clientId) {
    throw new GrantError('invalid_grant', 'The refresh token was issued to another client.');
  }
  const now = Date.now();
  if (row.expires_at < now) throw new GrantError('invalid_grant', 'The refresh token expired.');
  let live: RefreshRow | null = null;
  if (row.rotated_at !== null) {
    const successor = row.successor_hash
      ? (db
          .query('SELECT * FROM oauth_refresh_tokens WHERE token_hash = ?')
          .get(row.successor_hash) as RefreshRow | null)
      : null;
    const inGrace =
      now - row.rotated_at <= REFRESH_GRACE_MS &&
      successor !== null &&
      successor.rotated_at === null;
    if (!inGrace) {
      families.revoke(db, family.id);
      throw new GrantError(
        'invalid_grant',
        'The refresh token was already used; every token of this sign-in is revoked. Authorize again.',
      );
    }
    live = successor;
  }
  const refreshToken = db.transaction(() => {
    const next = newRefreshToken(db, family.id);
    const nextHash = sha256Hex(next);
    // The token presented and, on a grace retry, the live one it had
    // produced both point at the new token; the grace window never extends.
    db.run(
      'UPDATE oauth_refresh_tokens SET rotated_at = COALESCE(rotated_at, ?), successor_hash = ? WHERE token_hash = ?',
      [now, nextHash, hash],
    );
    if (live) {
      db.run(
        'UPDATE oauth_refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE token_hash = ?',
        [now, nextHash, live.token_hash],
      );
    }
    return next;
  })();
  return { family, refreshToken };
}

/** RFC 7009: a refresh token ends its family; unknown tokens are ignored. */
export function revokeRefreshToken(db: Database, token: string, clientId: string): boolean {
  const row = db
    .query('SELECT family_id FROM oauth_refresh_tokens WHERE token_hash = ?')
    .get(sha256Hex(token)) as { family_id: string } | null;
  const family = row ? families.byId(db, row.family_id) : null;
  if (!family || family.client_id !== clientId) return false;
  families.revoke(db, family.id);
  return true;
}
