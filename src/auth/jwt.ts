import type { Database } from 'bun:sqlite';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ALG, type SigningKeys } from './signing-keys.ts';

/** Claims the hub puts in every token it signs (auth.md section 3). */
export interface HubClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  scope: string;
  ttlSeconds: number;
  client_id?: string;
  vault_scope?: string[];
  /** Restrictions modules enforce beyond scope (vault: `scoped_tags`). */
  permissions?: Record<string, unknown>;
}

/** Signs a hub JWT with the active key; returns it with its jti and exp. */
export async function signToken(
  keys: SigningKeys,
  claims: HubClaims,
): Promise<{ token: string; jti: string; exp: number }> {
  const { kid, key } = await keys.active();
  const now = Math.floor(Date.now() / 1000);
  const exp = now + claims.ttlSeconds;
  const jti = crypto.randomUUID();
  const { ttlSeconds: _, iss, sub, aud, ...rest } = claims;
  const token = await new SignJWT({ ...rest })
    .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key);
  keys.noteSigned(kid, exp);
  return { token, jti, exp };
}

/** Why a token was refused; `reason` goes into logs and error descriptions, never the token. */
export class TokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TokenError';
  }
}

/**
 * Verifies a token the hub signed: RS256 only (so `alg: none` and HMAC
 * key-confusion tokens fail), a kid the hub published, `iss` one of the
 * hub's own origins, the expected audience, not expired, not revoked.
 */
export async function verifyToken(
  keys: SigningKeys,
  db: Database,
  token: string,
  // null: any audience (the caller checks what the token may do by its scopes).
  expect: { issuers: string[]; audience: string | string[] | null },
): Promise<JWTPayload & { scope?: string }> {
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? await keys.publicKey(header.kid) : null;
        if (!key) throw new TokenError('signed by a key this hub does not publish');
        return key;
      },
      {
        algorithms: [ALG],
        issuer: expect.issuers,
        audience: expect.audience ?? undefined,
        clockTolerance: 30,
      },
    );
    if (!payload.jti || isRevoked(db, payload.jti)) throw new TokenError('revoked');
    return payload as JWTPayload & { scope?: string };
  } catch (error) {
    if (error instanceof TokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new TokenError('expired');
    if (error instanceof errors.JWTClaimValidationFailed) {
      throw new TokenError(`claim "${error.claim}" is not accepted here`);
    }
    if (error instanceof errors.JOSEAlgNotAllowed) throw new TokenError('algorithm not accepted');
    if (error instanceof errors.JWSSignatureVerificationFailed)
      throw new TokenError('bad signature');
    throw new TokenError('malformed token');
  }
}

/** Adds a jti to the revocation list until the token would have expired anyway. */
export function revokeJti(db: Database, jti: string, expSeconds: number): void {
  // Expired tokens fail on their own; their entries only lengthen the list.
  // Five minutes' margin covers modules that allow for clock skew.
  db.run('DELETE FROM revoked_tokens WHERE expires_at < ?', [Date.now() - 5 * 60 * 1000]);
  db.run('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?)', [
    jti,
    expSeconds * 1000,
    Date.now(),
  ]);
}

function isRevoked(db: Database, jti: string): boolean {
  return db.query('SELECT 1 FROM revoked_tokens WHERE jti = ?').get(jti) !== null;
}
