import { existsSync, readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { writeFileAtomic } from '../platform/atomic-write.ts';
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
 * replaces so a leaked old copy stops working.
 */
export async function mintOperatorToken(
  ctx: Pick<AuthContext, 'db' | 'keys' | 'origin'>,
  path: string,
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
  if (previous?.jti && previous.exp) revokeJti(ctx.db, previous.jti, previous.exp);
  return { exp };
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
