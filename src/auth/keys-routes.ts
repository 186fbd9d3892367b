import { Elysia } from 'elysia';
import type { AuthContext } from './context.ts';

/** GET /.well-known/jwks.json (RFC 7517): what modules verify hub tokens with. */
export function keysRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.keys' }).get('/.well-known/jwks.json', ({ set }) => {
    // Short: after a rotation, modules see the new key within minutes.
    set.headers['cache-control'] = 'public, max-age=300';
    return ctx.keys.jwks();
  });
}
