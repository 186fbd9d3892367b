import { Elysia } from 'elysia';
import { moduleOfHost, moduleOrigin } from '../platform/apps-domain.ts';
import type { AuthContext } from './context.ts';
import {
  hostCookie,
  MODULE_SESSION_COOKIE,
  MODULE_STATE_COOKIE,
  readCookie,
  SESSION_COOKIE,
} from './cookies.ts';
import { sameOriginRequest } from './csrf.ts';
import { authError } from './errors.ts';
import { ModuleSessionCodes, moduleSessions } from './module-sessions.ts';
import { randomToken, SESSION_IDLE_MS, sessions } from './sessions.ts';

const START = '/api/module-session/start';
/** How long a started sign-in may take (the state cookie's life), in seconds. */
const STATE_MAX_AGE_S = 600;

/**
 * A session on a module's own origin, for that module alone (modules.md
 * section 7, apps domain). The hub's session cookie is host-only and stays
 * on the hub's host; a module's page signs in to its own host like an
 * OAuth client (RFC 6749 section 4.1 in miniature):
 *
 * 1. `GET <module origin>/api/module-session/start?next=/path` sets a
 *    `state` cookie on the module's host and sends the browser to the hub.
 * 2. `GET <hub>/api/module-session/authorize?module&state&next` needs the
 *    hub session (else the login page first) and sends a one-time code back
 *    to that module's origin, the only place it ever goes.
 * 3. `GET <module origin>/api/module-session/callback` checks the code was
 *    issued for this module and the state is the one this browser started
 *    with (no signing a victim in as someone else), sets the module's
 *    session cookie and returns to `next`.
 *
 * Then `GET /api/module-session` on that origin says who is signed in, and
 * `POST /api/module-session/logout` ends it. The module-facing endpoints of
 * the next issue (cookie-gated token mints) take this session on a module's
 * origin; it can never call the admin API, and the hub answers nothing else
 * on a module's origin (hub/module-origin.ts).
 */
export function moduleSessionRoutes(ctx: AuthContext) {
  const codes = new ModuleSessionCodes();
  const hostModule = (request: Request) =>
    moduleOfHost(request.headers.get('host'), ctx.appsDomain);
  const notHere = () =>
    Response.json(
      authError('not_found', 'This is answered only on a module’s own origin (apps domain).'),
      { status: 404 },
    );
  return new Elysia({ name: 'auth.module-session' })
    .get(START, ({ request, query }) => {
      const module = hostModule(request);
      if (!module) return notHere();
      const state = randomToken();
      const authorize = new URL('/api/module-session/authorize', ctx.origin);
      authorize.search = new URLSearchParams({
        module,
        state,
        next: localPath(query.next),
      }).toString();
      return redirect(authorize.toString(), [
        hostCookie(MODULE_STATE_COOKIE, state, STATE_MAX_AGE_S, ctx.secureCookies),
      ]);
    })
    .get('/api/module-session/authorize', ({ request, query }) => {
      const appsDomain = ctx.appsDomain;
      // Only the hub's origin holds the hub session; a module's never answers this.
      if (!appsDomain || hostModule(request)) {
        return Response.json(
          authError('not_found', 'This hub serves modules on its own origin (no apps domain).'),
          { status: 404 },
        );
      }
      const module = query.module ?? '';
      const state = query.state ?? '';
      if (!/^[a-z][a-z0-9-]{0,62}$/.test(module) || !/^[A-Za-z0-9_-]{16,128}$/.test(state)) {
        return plain(400, 'This sign-in link is broken. Open the module again.');
      }
      const token = readCookie(request, SESSION_COOKIE, ctx.secureCookies);
      const found = token ? sessions.find(ctx.db, token) : null;
      if (!found) {
        const here = new URL(request.url);
        return redirect(`/login?next=${encodeURIComponent(here.pathname + here.search)}`);
      }
      const back = new URL(
        '/api/module-session/callback',
        moduleOrigin(module, appsDomain, ctx.origin),
      );
      back.search = new URLSearchParams({
        code: codes.issue(found.session.id_hash, module, state),
        state,
        next: localPath(query.next),
      }).toString();
      return redirect(back.toString());
    })
    .get('/api/module-session/callback', ({ request, query }) => {
      const module = hostModule(request);
      if (!module) return notHere();
      const started = readCookie(request, MODULE_STATE_COOKIE, ctx.secureCookies);
      const state = query.state ?? '';
      // A code this browser did not ask for would sign it in as whoever did (login CSRF).
      if (!started || started !== state) {
        return plain(400, 'This sign-in was not started in this browser. Open the module again.');
      }
      const parent = codes.take(query.code ?? '', module, state);
      if (!parent) return plain(400, 'This sign-in expired. Open the module again.');
      const session = moduleSessions.create(ctx.db, parent, module);
      return redirect(localPath(query.next), [
        hostCookie(MODULE_SESSION_COOKIE, session, SESSION_IDLE_MS / 1000, ctx.secureCookies),
        hostCookie(MODULE_STATE_COOKIE, '', 0, ctx.secureCookies),
      ]);
    })
    .get('/api/module-session', ({ request, set, status }) => {
      const module = hostModule(request);
      if (!module) return notHere();
      set.headers['cache-control'] = 'no-store';
      const token = readCookie(request, MODULE_SESSION_COOKIE, ctx.secureCookies);
      const user = token ? moduleSessions.find(ctx.db, token, module) : null;
      if (!user) {
        return status(401, {
          ...authError('unauthenticated', `Nobody is signed in to ${module}.`),
          // Add ?next=<path on this origin> to come back there.
          sign_in_url: START,
        });
      }
      return { module, user: { id: user.id, username: user.username, role: user.role } };
    })
    .post('/api/module-session/logout', ({ request, status }) => {
      const module = hostModule(request);
      const appsDomain = ctx.appsDomain;
      if (!module || !appsDomain) return notHere();
      const own = { origins: [moduleOrigin(module, appsDomain, ctx.origin)], appsDomain: null };
      if (!sameOriginRequest(request, { ...own, secureCookies: ctx.secureCookies })) {
        return status(403, authError('csrf_failed', `Sign out from ${module}'s own pages.`));
      }
      const token = readCookie(request, MODULE_SESSION_COOKIE, ctx.secureCookies);
      if (token) moduleSessions.delete(ctx.db, token);
      const headers = new Headers({ 'cache-control': 'no-store' });
      headers.append('set-cookie', hostCookie(MODULE_SESSION_COOKIE, '', 0, ctx.secureCookies));
      return new Response(null, { status: 204, headers });
    });
}

/**
 * `next` as a path on the same origin: never `//host` or an absolute URL (an
 * open redirect). Resolved the way a browser reads Location, which drops
 * tabs and newlines first (`/<tab>/evil.example` is `//evil.example`), and
 * sent back as the resolved path, which has none.
 */
function localPath(next: string | undefined): string {
  if (!next?.startsWith('/')) return '/';
  const base = 'http://module.invalid';
  const url = URL.parse(next, base);
  return url?.origin === base ? url.pathname + url.search + url.hash : '/';
}

function redirect(location: string, cookies: string[] = []): Response {
  // The codes ride in URLs: no Referer carries them on.
  const headers = new Headers({
    location,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  return new Response(null, { status: 302, headers });
}

function plain(status: number, message: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  });
}
