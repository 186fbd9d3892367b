import { Elysia } from 'elysia';
import type { AuthContext } from '../auth/context.ts';
import type { ModuleManager } from '../modules/manager.ts';
import { escapeHtml } from '../platform/html.ts';
import { VERSION } from '../version.ts';

/** One mount of one module, as clients discover it. */
function services(auth: AuthContext, manager: ModuleManager) {
  return manager.list().flatMap((m) =>
    m.paths.map((path) => {
      const url = `${auth.origin}${path.replace(/\/+$/, '')}`;
      return {
        name: m.module ?? m.name,
        displayName: m.displayName ?? m.name,
        path,
        url,
        version: m.version,
        infoUrl: `${url}/.parachute/info`,
        // A row the hub does not run (a module that registered itself) is `external`.
        state: m.row.installDir ? m.state : 'external',
      };
    }),
  );
}

/**
 * GET /.well-known/parachute.json and GET / (modules.md section 7): what is
 * installed and where, for clients and for people. Public: it names
 * modules and paths, never secrets.
 */
export function discoveryRoutes(auth: AuthContext, manager: ModuleManager) {
  return new Elysia({ name: 'hub.discovery' })
    .get('/.well-known/parachute.json', ({ set }) => {
      set.headers['cache-control'] = 'no-cache';
      const list = services(auth, manager);
      return {
        hub: { origin: auth.origin, version: VERSION },
        services: list,
        // Older clients read vaults from the top level.
        vaults: list
          .filter((s) => s.path.startsWith('/vault/'))
          .map((s) => ({
            name: s.path.slice('/vault/'.length).replace(/\/+$/, ''),
            path: s.path,
            url: s.url,
          })),
      };
    })
    .get('/', () => {
      const rows = services(auth, manager)
        .map(
          (s) =>
            `<li><a href="${escapeHtml(s.path)}">${escapeHtml(s.displayName)}</a> <small>${escapeHtml(s.path)} · ${escapeHtml(s.state)} · v${escapeHtml(s.version)}</small></li>`,
        )
        .join('');
      const body = rows ? `<ul>${rows}</ul>` : '<p>No modules are installed yet.</p>';
      const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Parachute</title><body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem"><h1>Parachute</h1>${body}<p><a href="/admin/">Admin</a></p></body></html>`;
      return new Response(html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          'content-security-policy':
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        },
      });
    });
}
