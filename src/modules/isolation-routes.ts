import { Elysia } from 'elysia';
import * as z from 'zod/mini';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { moduleOrigin } from '../platform/apps-domain.ts';
import type { ModuleIsolation } from './isolation.ts';
import type { ModuleManager, ModuleView } from './manager.ts';

/** POST /api/modules/:name/isolation */
const IsolationBody = z.object({
  /** true sandboxes the module's documents (no storage, cookies or service workers); false trusts it. */
  isolated: z.boolean(),
});

/**
 * How each module's pages run in the browser (modules.md section 7):
 * `own-origin` with an apps domain; else `isolated` (sandboxed documents)
 * or `trusted` (the hub's origin: admin-equivalent in the browser). An
 * isolated module on its own origin is sandboxed there too.
 */
export function isolationRoutes(
  auth: AuthContext,
  manager: ModuleManager,
  isolation: ModuleIsolation,
) {
  const browserOf = (view: ModuleView) => {
    const appsDomain = auth.appsDomain;
    const module = view.module ?? view.name;
    const isolated = isolation.has(view.name);
    return {
      name: view.name,
      module,
      isolated,
      mode: appsDomain ? 'own-origin' : isolated ? 'isolated' : 'trusted',
      origin: appsDomain ? moduleOrigin(module, appsDomain, auth.origin) : auth.origin,
    };
  };
  return new Elysia({ name: 'modules.isolation' })
    .use(requireAuth(auth))
    .get('/api/modules/isolation', () => ({
      apps_domain: auth.appsDomain,
      modules: manager.list().map(browserOf),
    }))
    .post('/api/modules/:name/isolation', ({ request, principal, params, body, status }) => {
      const name = manager.resolve(params.name);
      const row = name ? manager.row(name) : undefined;
      if (!name || !row) {
        return status(404, {
          error: 'unknown_module',
          error_description: `No module named ${params.name}.`,
        });
      }
      const parsed = IsolationBody.safeParse(body ?? {});
      if (!parsed.success) {
        return status(400, {
          error: 'invalid_request',
          error_description: 'isolated: expected true or false',
        });
      }
      isolation.set(name, parsed.data.isolated);
      audit(auth, request, principal, {
        action: 'setting.isolation',
        target: name,
        outcome: 'success',
        detail: { isolated: parsed.data.isolated },
      });
      return browserOf(manager.view(row));
    });
}
