import { Elysia } from 'elysia';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { authenticate, bearerToken, type Principal, verifyBearer } from './guard.ts';
import { API_CLIENT_ID, mintToken } from './mint.ts';
import { decideMint, holdsHostAuthority } from './mint-rules.ts';
import { type MintedToken, mintedTokens } from './minted-tokens.ts';
import type { ScopeCatalog } from './oauth/scopes.ts';
import { noStore } from './page-caller.ts';
import { MintTokenBody, parseBody, RevokeTokenBody } from './schema.ts';

const DEFAULT_TTL_S = 90 * 24 * 3600;
const PAGE_SIZE = 50;

/**
 * Tokens for automation (issue 15 point 1): a bearer mints a token with at
 * most its own authority (auth/mint-rules.ts), and every token minted here
 * is recorded, listed and revocable. A token minted with a recorded token
 * ends with it; one minted with an app's OAuth token ends when that
 * sign-in is revoked.
 *
 *   POST /api/auth/mint-token   {scope, audience?, expires_in?, subject?, permissions?}
 *                               -> {jti, token, expires_at, scope, permissions?}
 *   GET  /api/auth/tokens       ?revoked=all&cursor=  (admin)
 *   POST /api/auth/revoke-token {jti} -> {jti, revoked_at}
 */
export function mintTokenRoutes(ctx: AuthContext, catalog: () => ScopeCatalog) {
  return new Elysia({ name: 'auth.mint-token' })
    .post('/api/auth/mint-token', async ({ request, body }) => {
      const token = bearerToken(request);
      if (!token) {
        return noStore(
          401,
          authError('unauthenticated', 'Send the token to mint with as Authorization: Bearer.'),
        );
      }
      const bearer = await verifyBearer(ctx, token, null);
      if (!bearer.ok) return noStore(bearer.status, bearer.body);
      const parsed = parseBody(MintTokenBody, body);
      if (!parsed.ok) return noStore(400, parsed.error);
      const asked = parsed.data.scope.split(/\s+/).filter(Boolean);
      const decision = decideMint(catalog(), bearer.scopes, asked);
      if (!decision.ok) return noStore(decision.status, authError(decision.error, decision.why));
      const { grant } = decision;
      if (parsed.data.audience !== undefined && parsed.data.audience !== grant.audience) {
        return noStore(
          400,
          authError(
            'invalid_request',
            `These scopes are for the audience "${grant.audience}", not "${parsed.data.audience}".`,
          ),
        );
      }
      const host = holdsHostAuthority(bearer.scopes);
      const sub = bearer.claims.sub ?? 'unknown';
      if (parsed.data.subject !== undefined && parsed.data.subject !== sub && !host) {
        return noStore(
          403,
          authError('insufficient_scope', 'Only the host’s tokens may mint for another subject.'),
        );
      }
      const jti = bearer.claims.jti as string;
      const parent = mintedTokens.byJti(ctx.db, jti);
      const family = ctx.db
        .query('SELECT family_id FROM oauth_access_tokens WHERE jti = ?')
        .get(jti) as { family_id: string } | null;
      const minted = await mintToken(ctx, {
        subject: parsed.data.subject ?? sub,
        userId: bearer.user?.id ?? parent?.user_id ?? null,
        clientId: API_CLIENT_ID,
        scopes: grant.scopes,
        audience: grant.audience,
        vaultScope: grant.vaults,
        ttlSeconds: parsed.data.expires_in ?? DEFAULT_TTL_S,
        permissions: parsed.data.permissions,
        record: { via: 'mint_token', parentJti: parent?.jti, familyId: family?.family_id },
      });
      audit(
        ctx,
        request,
        { kind: 'token', sub, scopes: bearer.scopes, user: bearer.user },
        {
          action: 'token.mint',
          target: minted.jti,
          outcome: 'success',
          detail: { scope: grant.scopes.join(' '), subject: parsed.data.subject ?? sub },
        },
      );
      return noStore(200, {
        jti: minted.jti,
        token: minted.token,
        expires_at: minted.expiresAt,
        scope: grant.scopes.join(' '),
        ...(parsed.data.permissions ? { permissions: parsed.data.permissions } : {}),
      });
    })
    .get('/api/auth/tokens', async ({ request, query }) => {
      const check = await authenticate(ctx, request, 'parachute:host:admin');
      if (!check.ok) return noStore(check.status, check.body);
      const page = mintedTokens.page(ctx.db, {
        all: query.revoked === 'all',
        cursor: typeof query.cursor === 'string' ? query.cursor : null,
        limit: PAGE_SIZE,
      });
      return noStore(200, { tokens: page.rows.map(listed), next_cursor: page.next });
    })
    .post('/api/auth/revoke-token', async ({ request, body }) => {
      const parsed = parseBody(RevokeTokenBody, body);
      const row = parsed.ok ? mintedTokens.byJti(ctx.db, parsed.data.jti) : null;
      // Who may: an admin (session with CSRF, or the host's token), or a
      // token holding vault:<name>:admin for a token of that vault alone.
      const token = bearerToken(request);
      let who: Principal;
      if (token) {
        const bearer = await verifyBearer(ctx, token, null);
        if (!bearer.ok) return noStore(bearer.status, bearer.body);
        who = {
          kind: 'token',
          sub: bearer.claims.sub ?? '',
          scopes: bearer.scopes,
          user: bearer.user,
        };
        if (!holdsHostAuthority(bearer.scopes) && !(row && vaultAdminOf(row, bearer.scopes))) {
          return noStore(
            403,
            authError('insufficient_scope', 'This token may not revoke that token.'),
          );
        }
      } else {
        const check = await authenticate(ctx, request, 'parachute:host:admin');
        if (!check.ok) return noStore(check.status, check.body);
        who = check.principal;
      }
      if (!parsed.ok) return noStore(400, parsed.error);
      if (!row) {
        return noStore(
          404,
          authError('not_found', `No recorded token with jti ${parsed.data.jti}.`),
        );
      }
      const revokedAt = mintedTokens.revoke(ctx.db, row.jti) as number;
      audit(ctx, request, who, {
        action: 'token.revoke',
        target: row.jti,
        outcome: 'success',
        detail: { subject: row.subject },
      });
      return noStore(200, { jti: row.jti, revoked_at: new Date(revokedAt).toISOString() });
    });
}

/** True when every scope of `row` names one vault whose admin scope `held` carries. */
function vaultAdminOf(row: MintedToken, held: string[]): boolean {
  const vaults = new Set(row.scope.split(' ').map((s) => /^vault:([^:]+):/.exec(s)?.[1] ?? ''));
  const [vault] = [...vaults];
  return vaults.size === 1 && vault !== '' && held.includes(`vault:${vault}:admin`);
}

function listed(row: MintedToken) {
  return {
    jti: row.jti,
    user_id: row.user_id,
    subject: row.subject,
    client_id: row.client_id,
    scopes: row.scope.split(' ').filter(Boolean),
    audience: JSON.parse(row.audience),
    created_via: row.created_via,
    connection_id: row.connection_id,
    created_at: new Date(row.created_at).toISOString(),
    expires_at: new Date(row.expires_at).toISOString(),
    revoked_at: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
    permissions: row.permissions === null ? null : JSON.parse(row.permissions),
  };
}
