import { moduleOfHost, moduleOrigin } from '../platform/apps-domain.ts';
import type { AuthContext } from './context.ts';
import { MODULE_SESSION_COOKIE, readCookie, SESSION_COOKIE } from './cookies.ts';
import { authError } from './errors.ts';
import { moduleSessions } from './module-sessions.ts';
import { sessions } from './sessions.ts';
import type { User } from './users.ts';

/**
 * Who is calling one of the hub endpoints module pages call with the
 * operator's browser session (issue 15: the cookie-gated mints and the
 * identity transactions), and from where.
 *
 * Module pages send only the session cookie: no CSRF header, no bearer.
 * So the request must come from a page of the same origin, by Fetch
 * Metadata (`Sec-Fetch-Site: same-origin`) and by Origin when the browser
 * sends one (always on a POST or DELETE). Two origins qualify:
 *
 * - the hub's own, with the hub session: its admin UI, and module pages
 *   that share the hub's origin (trusted modules are admin-equivalent
 *   there, modules.md section 7; isolated ones are sandboxed documents,
 *   whose requests are cross-site and carry no cookies);
 * - a module's own origin under the apps domain, with that module's own
 *   session: then `module` names it, and each endpoint answers only for
 *   that module.
 */
export interface PageCaller {
  user: User;
  /** The module whose own origin the request came from, or null for the hub's origin. */
  module: string | null;
}

export type PageCallerCheck = { ok: true; caller: PageCaller } | { ok: false; response: Response };

export function pageCaller(ctx: AuthContext, request: Request): PageCallerCheck {
  const check = pageSession(ctx, request);
  return check.ok ? withOwnPassword(check.caller) : check;
}

/** The same check, for endpoints only the hub's admins may use. */
export function adminPageCaller(ctx: AuthContext, request: Request): PageCallerCheck {
  const check = pageSession(ctx, request);
  if (check.ok && check.caller.user.role !== 'admin') {
    return refuse(
      403,
      'not_admin',
      'Only the hub’s admins may do this; ask one to, or to make your account an admin.',
    );
  }
  return check.ok ? withOwnPassword(check.caller) : check;
}

/** A person still on a temporary password gets nothing until they choose their own. */
function withOwnPassword(caller: PageCaller): PageCallerCheck {
  if (caller.user.must_change_password) {
    return refuse(
      403,
      'password_change_required',
      'Choose a new password at /admin/ first: this account still has a temporary one.',
    );
  }
  return { ok: true, caller };
}

function pageSession(ctx: AuthContext, request: Request): PageCallerCheck {
  const host = request.headers.get('host');
  const module = moduleOfHost(host, ctx.appsDomain);
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin') {
    return refuse(
      403,
      'cross_origin',
      `Refused: this is answered only to pages of this origin, and the request came from a ${site} page.`,
    );
  }
  const origin = request.headers.get('origin') ?? originOf(request.headers.get('referer'));
  const mutation = request.method !== 'GET' && request.method !== 'HEAD';
  if (origin === null ? mutation : !ownOrigin(ctx, origin, host, module)) {
    return refuse(
      403,
      'cross_origin',
      'Refused: the request did not come from a page of this origin. Reload the page and try again.',
    );
  }
  const user =
    module === null ? hubSessionUser(ctx, request) : moduleSessionUser(ctx, request, module);
  if (!user) {
    return refuse(
      401,
      'unauthenticated',
      module === null
        ? 'No hub session: sign in at /login first.'
        : `No session for ${module}: sign in at /api/module-session/start first.`,
    );
  }
  return { ok: true, caller: { user, module } };
}

/** A JSON answer that is never cached (tokens, and refusals about them). */
export function noStore(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { 'cache-control': 'no-store' } });
}

function refuse(status: number, error: string, description: string): PageCallerCheck {
  return { ok: false, response: noStore(status, authError(error, description)) };
}

function hubSessionUser(ctx: AuthContext, request: Request): User | null {
  const token = readCookie(request, SESSION_COOKIE, ctx.secureCookies);
  return token ? (sessions.find(ctx.db, token)?.user ?? null) : null;
}

function moduleSessionUser(ctx: AuthContext, request: Request, module: string): User | null {
  const token = readCookie(request, MODULE_SESSION_COOKIE, ctx.secureCookies);
  return token ? moduleSessions.find(ctx.db, token, module) : null;
}

/**
 * `origin` is the origin the request was sent to: one of the hub's, or the
 * Host the browser used (a hub reached by a LAN address); on a module's own
 * origin, exactly that module's.
 */
function ownOrigin(
  ctx: AuthContext,
  origin: string,
  host: string | null,
  module: string | null,
): boolean {
  if (origin === 'null') return false;
  if (module !== null) {
    const appsDomain = ctx.appsDomain as string;
    return origin === moduleOrigin(module, appsDomain, ctx.origin);
  }
  if (ctx.origins.includes(origin)) return true;
  return host !== null && originOf(origin)?.split('://')[1] === host;
}

function originOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
