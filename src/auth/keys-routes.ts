import { Elysia } from 'elysia';
import type { AuthContext } from './context.ts';

/**
 * What modules verify hub tokens with: GET /.well-known/jwks.json (RFC 7517)
 * and GET /.well-known/parachute-revocation.json (auth.md section 2).
 */
export function keysRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.keys' })
    .get('/.well-known/jwks.json', async ({ set }) => {
      // Never an empty set: a module that cached one would refuse the first
      // tokens until its JWKS cache expired.
      await ctx.keys.ensureActive();
      // Short: after a rotation, modules see the new key within minutes.
      set.headers['cache-control'] = 'public, max-age=300';
      return ctx.keys.jwks();
    })
    .get('/.well-known/parachute-revocation.json', ({ set }) => {
      // Modules poll this about once a minute and refuse every hub token
      // until they have fetched it once: it must always answer 200.
      set.headers['cache-control'] = 'no-cache';
      const now = Date.now();
      const rows = ctx.db
        .query('SELECT jti FROM revoked_tokens WHERE expires_at > ? ORDER BY revoked_at')
        .all(now) as { jti: string }[];
      return { generated_at: new Date(now).toISOString(), jtis: rows.map((r) => r.jti) };
    });
}
