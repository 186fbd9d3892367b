import type { Database } from 'bun:sqlite';
import { existsSync, readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { getSetting, setSetting } from '../store/settings.ts';
import type { AuthContext } from './context.ts';
import { revokeJti, signToken } from './jwt.ts';

export const OPERATOR_SCOPE = 'parachute:host:admin';
export const OPERATOR_TTL_SECONDS = 90 * 24 * 3600;
const REMINT_WITHIN_SECONDS = 7 * 24 * 3600;

/** Fields of the current operator.token, or null when it is missing or unreadable. */
export function readOperatorToken(
  path: string,
): { jti?: string; exp?: number; iss?: string } | null {
  if (!existsSync(path)) return null;
  try {
    return decodeJwt(readFileSync(path, 'utf8').trim());
  } catch {
    return null;
  }
}

/**
 * Mints a new operator token (aud=operator, 90 days) into
 * $PARACHUTE_HOME/operator.token with mode 0600, and revokes the one it
 * replaces so a leaked old copy stops working; a revocation also ends the
 * moved-from operator token's acceptance (movedOperatorIssuer). `keepPrevious`:
 * the first boot after a move, whose old host keeps its copy.
 */
export async function mintOperatorToken(
  ctx: Pick<AuthContext, 'db' | 'keys' | 'origin'>,
  path: string,
  options: { keepPrevious?: boolean } = {},
): Promise<{ exp: number }> {
  const previous = readOperatorToken(path);
  const { token, exp } = await signToken(ctx.keys, {
    iss: ctx.origin,
    sub: 'operator',
    aud: 'operator',
    scope: OPERATOR_SCOPE,
    ttlSeconds: OPERATOR_TTL_SECONDS,
  });
  writeFileAtomic(path, `${token}\n`, { mode: 0o600 });
  if (options.keepPrevious) return { exp };
  if (previous?.jti && previous.exp) revokeJti(ctx.db, previous.jti, previous.exp);
  setSetting(ctx.db, 'moved_from', null);
  return { exp };
}

/**
 * The issuer of the operator token a hub brought when it was moved onto Fly
 * (the old host's origin), when `token` claims it; else null. That token, and
 * only an operator token, is still accepted from that issuer, so the old
 * host's `parachute export --from fly` works after the move, until the
 * operator token is rotated.
 */
export function movedOperatorIssuer(db: Database, token: string): string | null {
  const moved = getSetting(db, 'moved_from');
  if (!moved) return null;
  try {
    const claims = decodeJwt(token);
    return claims.iss === moved && claims.sub === 'operator' ? moved : null;
  } catch {
    return null;
  }
}

/** Why the operator token should be re-minted now, or null if it is fine. */
export function operatorTokenStale(
  path: string,
  origin: string,
  nowSeconds = Math.floor(Date.now() / 1000),
) {
  const current = readOperatorToken(path);
  if (!current) return 'it is missing or unreadable';
  if (current.iss !== origin) return `the origin changed to ${origin}`;
  if (!current.exp || current.exp - nowSeconds < REMINT_WITHIN_SECONDS)
    return 'it expires within 7 days';
  return null;
}
