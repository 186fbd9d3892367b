import { Elysia } from 'elysia';
import { normalizeAppsDomain } from '../platform/apps-domain.ts';
import { log } from '../platform/log.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { setSetting } from '../store/settings.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { requireAuth } from './guard.ts';
import { AppsDomainBody, parseBody } from './schema.ts';

/**
 * GET|PUT /api/hub/apps-domain: the domain under which each module gets its
 * own origin (modules.md section 7). The saved value wins over
 * PARACHUTE_APPS_DOMAIN; null clears it. `active` is false while the hub's
 * own origin lies under it (the hub would take itself for a module).
 */
export function appsDomainRoutes(ctx: AuthContext) {
  const describe = () => ({
    apps_domain: ctx.configuredAppsDomain.domain,
    source: ctx.configuredAppsDomain.source,
    active: ctx.appsDomain !== null,
  });
  return new Elysia({ name: 'auth.apps-domain' })
    .use(requireAuth(ctx))
    .get('/api/hub/apps-domain', describe)
    .put('/api/hub/apps-domain', async ({ request, principal, body, status }) => {
      const parsed = parseBody(AppsDomainBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      let value: string | null = null;
      try {
        const raw = parsed.data.apps_domain;
        value = raw === null ? null : normalizeAppsDomain(raw, 'apps_domain');
      } catch (error) {
        if (error instanceof OperatorError) {
          return status(400, authError('invalid_request', `${error.message} ${error.hint}`));
        }
        throw error;
      }
      setSetting(ctx.db, 'apps_domain', value);
      audit(ctx, request, principal, {
        action: 'setting.apps_domain',
        target: 'apps_domain',
        outcome: 'success',
        detail: { value },
      });
      const moved = ctx.refreshAppsDomain();
      log.info(`apps domain is now ${ctx.appsDomain ?? 'unset (modules share the hub origin)'}`);
      if (moved) {
        // Each module's PARACHUTE_HUB_ORIGINS names its own origin: they restart, as for a new origin.
        log.info('restarting modules so they learn the origins they are reached at');
        await Promise.all([...ctx.originListeners].map((listener) => listener(ctx.origin)));
      }
      return describe();
    });
}
