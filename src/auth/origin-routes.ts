import { Elysia } from 'elysia';
import { log } from '../platform/log.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { normalizeOrigin } from '../platform/origin.ts';
import { hubPaths } from '../platform/paths.ts';
import { setSetting } from '../store/settings.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { requireAuth } from './guard.ts';
import { mintOperatorToken } from './operator-token.ts';
import { OriginBody, parseBody } from './schema.ts';

/** The issuer origin as the admin sees and sets it (auth.md section 1). */
export function originRoutes(ctx: AuthContext) {
  const describe = () => ({ origin: ctx.origin, source: ctx.originSource, origins: ctx.origins });
  return new Elysia({ name: 'auth.origin' })
    .use(requireAuth(ctx))
    .get('/api/hub/origin', describe)
    .put('/api/hub/origin', async ({ request, principal, body, status }) => {
      const parsed = parseBody(OriginBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      let value: string | null = null;
      try {
        value = parsed.data.origin === null ? null : normalizeOrigin(parsed.data.origin, 'origin');
      } catch (error) {
        if (error instanceof OperatorError) {
          return status(400, authError('invalid_request', `${error.message} ${error.hint}`));
        }
        throw error;
      }
      setSetting(ctx.db, 'origin', value);
      audit(ctx, request, principal, {
        action: 'setting.origin',
        target: 'origin',
        outcome: 'success',
        detail: { value },
      });
      if (ctx.refreshOrigin()) {
        // Tokens carry iss: the operator token must name the new origin (auth.md section 7).
        await mintOperatorToken(ctx, hubPaths(ctx.home).operatorToken);
        log.info(`origin changed to ${ctx.origin}; operator token re-minted, restarting modules`);
        // auth.md section 1: modules restart so they pick up the new issuer.
        await Promise.all([...ctx.originListeners].map((listener) => listener(ctx.origin)));
      }
      return describe();
    });
}
