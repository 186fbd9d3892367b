import type { Mount } from '../modules/mounts.ts';
import { moduleOrigin } from '../platform/apps-domain.ts';
import { errorBody } from './error-body.ts';
import { notFoundPage, wantsPage } from './hub-page.ts';
import { pathAndQuery } from './proxy.ts';

// Routing with an apps domain (modules.md section 7): module `x` is served
// on `x.<apps domain>` with its mount paths kept. On that origin the hub
// answers x's mounts and x's own session endpoints, nothing else: no admin
// UI, no admin API, no other module. On the hub's origin, browsers are sent
// to the module's origin, and whatever is still answered there is sandboxed.

// Exactly the mint routes: anything else under /admin is the admin UI, never served here.
const MODULE_ORIGIN_MINTS =
  /^\/admin\/(?:(?:module-token|vault-admin-token)\/[^/]+|host-admin-token)$/;

// Connections (auth/connections-routes.ts), each path with only the method
// it has: a GET of anything below /admin/connections would be the admin UI.
const MODULE_ORIGIN_CONNECTIONS: Record<string, RegExp> = {
  GET: /^\/admin\/connections$/,
  POST: /^\/admin\/connections(?:\/[^/]+\/renew)?$/,
  DELETE: /^\/admin\/connections\/[^/]+$/,
};

/**
 * The hub's own paths answered on a module's origin: that module's session
 * (auth/module-session-routes.ts) and the public discovery documents, which
 * carry no cookies' worth of anything.
 */
export function hubPathOnModuleOrigin(method: string, path: string): boolean {
  if (path === '/api/module-session' || path.startsWith('/api/module-session/')) return true;
  // Its own connections; they answer only for that module.
  if (MODULE_ORIGIN_CONNECTIONS[method]?.test(path)) return true;
  // Discovery is public and read cross-origin (a CORS preflight comes first).
  if (path.startsWith('/.well-known/'))
    return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  // The module's own mints; they answer only for that module (auth/page-mint-routes.ts).
  return (method === 'GET' || method === 'HEAD') && MODULE_ORIGIN_MINTS.test(path);
}

/**
 * Any other path on a module's origin: a 404 that says where to look
 * instead, a page for browsers (linking to the hub's origin) and JSON for
 * anything else.
 */
export function notOnModuleOrigin(
  request: Request,
  module: string,
  path: string,
  hubOrigin: string,
): Response {
  const where = `This is ${module}'s own origin; the hub's admin UI and its other modules are on the hub's origin.`;
  if ((request.method === 'GET' || request.method === 'HEAD') && wantsPage(request)) {
    return notFoundPage(path, {
      paragraphs: [`${path} is not part of ${module}.`, where],
      home: `${hubOrigin}/`,
      actions: [{ label: "Go to the hub's home page", href: `${hubOrigin}/`, primary: true }],
    });
  }
  return Response.json(errorBody('not_found', `${path} is not part of ${module}. ${where}`), {
    status: 404,
    headers: { 'cache-control': 'no-store' },
  });
}

/**
 * On the hub's origin with an apps domain, a browser opening a module's
 * page (a bookmark, an old link) is sent to the module's own origin, where
 * its storage and workers live; null for anything else (API and MCP
 * clients keep using the hub's origin). Browsers without Fetch Metadata
 * are recognised by asking for HTML.
 */
export function toModuleOrigin(
  request: Request,
  mount: Mount,
  appsDomain: string,
  issuer: string,
): Response | null {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  // A self-registered row's name may be no host name at all: it has no origin of its own.
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(mount.module)) return null;
  const mode = request.headers.get('sec-fetch-mode');
  const navigating =
    mode === 'navigate' ||
    (mode === null && (request.headers.get('accept') ?? '').includes('text/html'));
  if (!navigating) return null;
  const location = moduleOrigin(mount.module, appsDomain, issuer) + pathAndQuery(request.url);
  return new Response(null, {
    status: 307,
    headers: { location, 'cache-control': 'no-store' },
  });
}
