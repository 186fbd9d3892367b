import { Elysia } from 'elysia';
import { allowedHosts } from '../hub/hosts.ts';
import { COMMIT, VERSION } from '../version.ts';
import type { AuthContext } from './context.ts';
import { requireAuth } from './guard.ts';

/**
 * GET /api/hub/settings (admins): what the settings page shows read-only.
 * Allowed host names and trusted proxies come from the environment and only
 * change with a restart, so they are shown here rather than edited.
 */
export function hubSettingsRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.hub-settings' })
    .use(requireAuth(ctx))
    .get('/api/hub/settings', () => ({
      allowed_hosts: safely(() => allowedHosts(ctx.env)),
      trusted_proxies: (ctx.env.PARACHUTE_TRUSTED_PROXIES ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
      // Fly and Render front every request with their proxy, so the hub trusts any peer there.
      trusts_platform_proxy: Boolean(ctx.env.FLY_APP_NAME || ctx.env.RENDER_EXTERNAL_URL),
      version: VERSION,
      commit: COMMIT,
      platform: `${process.platform}-${process.arch}`,
    }));
}

/** A malformed env value already stopped or warned at boot; the page shows none rather than failing. */
function safely(read: () => string[]): string[] {
  try {
    return read();
  } catch {
    return [];
  }
}
