import { Elysia } from 'elysia';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';

// Reachable before the first admin exists (auth.md section 6); the Fly import
// is only ever taken by an empty hub (backup/import-routes.ts).
const OPEN_BEFORE_SETUP = new Set([
  '/api/ready',
  '/api/setup',
  '/api/setup/token',
  '/api/hub/import',
]);

/** While no admin exists, every other /api/* answers 503 setup_required. */
export function setupGate(ctx: AuthContext) {
  return new Elysia({ name: 'auth.setup-gate' }).onRequest(({ request, set }) => {
    if (ctx.hasAdmin) return;
    const path = new URL(request.url).pathname;
    if (!path.startsWith('/api/') || OPEN_BEFORE_SETUP.has(path)) return;
    set.status = 503;
    return authError(
      'setup_required',
      'This hub has no admin yet. Open /admin/setup with the bootstrap token from the hub log.',
    );
  });
}
