import { Elysia } from 'elysia';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { requireAuth } from './guard.ts';
import { mintOperatorToken } from './operator-token.ts';

/**
 * The hub's own credentials, rotated from the admin UI as `parachute token
 * rotate | rotate-key` does from a shell (issue 16 point 4): on Fly or
 * Render the browser is the only way in.
 *
 *   POST /api/hub/operator-token/rotate  -> {expires_at}: a new operator.token
 *        (mode 0600), the old one revoked; the token itself is never answered
 *   POST /api/hub/signing-key/rotate     -> {kid}: a new active signing key;
 *        the old one stays published until its tokens expire
 */
export function rotationRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.rotation' })
    .use(requireAuth(ctx))
    .post('/api/hub/operator-token/rotate', async ({ request, principal }) => {
      const { exp } = await mintOperatorToken(ctx, hubPaths(ctx.home).operatorToken);
      log.info('operator token rotated from the API; the previous one is revoked');
      audit(ctx, request, principal, {
        action: 'token.operator.rotate',
        target: 'operator',
        outcome: 'success',
      });
      return { expires_at: new Date(exp * 1000).toISOString() };
    })
    .post('/api/hub/signing-key/rotate', async ({ request, principal }) => {
      const kid = await ctx.keys.rotate();
      log.info(`signing key rotated from the API; ${kid} is active`);
      audit(ctx, request, principal, {
        action: 'token.signing_key.rotate',
        target: kid,
        outcome: 'success',
      });
      return { kid };
    });
}
