import type { Database } from 'bun:sqlite';
import { signToken } from './jwt.ts';
import { type MintedVia, mintedTokens } from './minted-tokens.ts';
import type { SigningKeys } from './signing-keys.ts';

/**
 * Minting outside OAuth (issue 15): the cookie-gated mints for the admin
 * pages of modules, `POST /api/auth/mint-token`, connection credentials.
 * Every such token is a hub JWT in the shape modules verify (auth.md
 * section 3); one that outlives SHORT_MINT_TTL_S is always recorded, so it
 * can be listed and revoked (auth/minted-tokens.ts).
 */

/** Cookie-gated mints live ten minutes (recorded all the same: they end with their person). */
export const SHORT_MINT_TTL_S = 600;
/** `client_id` of tokens minted for the hub's and modules' own pages. */
export const PAGES_CLIENT_ID = 'parachute-hub-spa';
/** `client_id` of tokens minted through the API. */
export const API_CLIENT_ID = 'parachute-hub';

export interface MintSpec {
  /** The token's `sub`. */
  subject: string;
  /** The person whose authority it was minted on, if any (recorded; ends with them). */
  userId: string | null;
  clientId: string;
  scopes: string[];
  audience: string | string[];
  /** The vaults it is pinned to (`vault_scope`); [] = not pinned. */
  vaultScope: string[];
  ttlSeconds: number;
  permissions?: Record<string, unknown>;
  /** Required past SHORT_MINT_TTL_S. */
  record?: {
    via: MintedVia;
    parentJti?: string | null;
    familyId?: string | null;
    connectionId?: string | null;
  };
}

export interface Minted {
  token: string;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
  /** ISO 8601, as modules read it. */
  expiresAt: string;
}

export async function mintToken(
  hub: { db: Database; keys: SigningKeys; origin: string },
  spec: MintSpec,
): Promise<Minted> {
  if (spec.ttlSeconds > SHORT_MINT_TTL_S && !spec.record) {
    throw new Error('a token that outlives ten minutes must be recorded');
  }
  const scope = spec.scopes.join(' ');
  const { token, jti, exp } = await signToken(hub.keys, {
    iss: hub.origin,
    sub: spec.subject,
    aud: spec.audience,
    scope,
    client_id: spec.clientId,
    vault_scope: spec.vaultScope,
    ...(spec.permissions ? { permissions: spec.permissions } : {}),
    ttlSeconds: spec.ttlSeconds,
  });
  if (spec.record) {
    mintedTokens.record(hub.db, {
      jti,
      user_id: spec.userId,
      subject: spec.subject,
      client_id: spec.clientId,
      scope,
      audience: JSON.stringify(spec.audience),
      permissions: spec.permissions ? JSON.stringify(spec.permissions) : null,
      created_via: spec.record.via,
      parent_jti: spec.record.parentJti ?? null,
      family_id: spec.record.familyId ?? null,
      connection_id: spec.record.connectionId ?? null,
      created_at: Date.now(),
      expires_at: exp * 1000,
    });
  }
  return { token, jti, exp, expiresAt: new Date(exp * 1000).toISOString() };
}
