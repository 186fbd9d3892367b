import type { AuthContext } from '../auth/context.ts';
import { MODULE_SESSION_COOKIE, readCookie, SESSION_COOKIE } from '../auth/cookies.ts';
import { authError } from '../auth/errors.ts';
import { TokenError, verifyToken } from '../auth/jwt.ts';
import { moduleSessions } from '../auth/module-sessions.ts';
import { sessions } from '../auth/sessions.ts';
import { type User, users } from '../auth/users.ts';
import type { Mount } from '../modules/mounts.ts';
import { gateOf, gatePath, type UiGate } from '../modules/uis.ts';
import { moduleOfHost } from '../platform/apps-domain.ts';
import { hubPage, wantsPage } from './hub-page.ts';
import { pathAndQuery } from './proxy.ts';

/**
 * The audience gate of hosted UIs (modules/uis.ts), checked before a
 * request or WebSocket upgrade under one is forwarded:
 *
 * - `public`, `surface`: pass (a surface's backend authenticates itself).
 * - `operator`: a signed-in admin. A token never is one: it may have leaked
 *   to, or been issued for, an app.
 * - `hub-users`: anyone signed in to the hub, or a hub token whose scopes
 *   satisfy every one of the UI's `scopes_required`.
 *
 * Signed in means the hub's session cookie on the hub's origin, and on a
 * module's own origin (apps domain) the session for that module alone.
 * Returns null to forward, else the refusal.
 */
export class UiGatekeeper {
  constructor(private readonly ctx: AuthContext) {}

  async check(request: Request, mount: Mount, gates: UiGate[]): Promise<Response | null> {
    const here = pathAndQuery(request.url);
    const query = here.indexOf('?');
    const path = query === -1 ? here : here.slice(0, query);
    const gate = gateOf(gates, gatePath(path));
    if (gate === null || gate.audience === 'public' || gate.audience === 'surface') return null;
    const hostModule = moduleOfHost(request.headers.get('host'), this.ctx.appsDomain);
    const user = this.signedIn(request, hostModule, mount);
    const what = `${gate.displayName} (${path})`;
    if (gate.audience === 'operator') {
      if (user?.role === 'admin') return null;
      if (user) {
        return refuse(
          request,
          403,
          'not_admin',
          `${what} is for this hub's admins; ${user.username} is not one. Ask an admin, or sign in as one.`,
        );
      }
      return (
        signIn(request, here, hostModule) ??
        refuse(
          request,
          401,
          'unauthenticated',
          `${what} needs a signed-in admin of this hub; tokens are not accepted.`,
        )
      );
    }
    if (user) return null;
    const authorization = request.headers.get('authorization');
    if (authorization && /^bearer /i.test(authorization)) {
      const scopes = await this.tokenScopes(authorization.slice(7).trim());
      if (typeof scopes === 'string') {
        return refuse(request, 401, 'unauthenticated', `The bearer token was refused: ${scopes}.`);
      }
      const missing = gate.scopesRequired.filter((p) => !scopes.some((s) => scopeSatisfies(s, p)));
      if (missing.length === 0) return null;
      return refuse(
        request,
        403,
        'insufficient_scope',
        `${what} needs a token with ${missing.join(', ')}; this one has ${scopes.join(' ') || 'no scopes'}.`,
      );
    }
    return (
      signIn(request, here, hostModule) ??
      refuse(
        request,
        401,
        'unauthenticated',
        `${what} needs a signed-in hub user or a hub bearer token.`,
      )
    );
  }

  /** Whether the visitor is a signed-in admin (by the session this origin carries). */
  isAdmin(request: Request, mount: Mount): boolean {
    const hostModule = moduleOfHost(request.headers.get('host'), this.ctx.appsDomain);
    return this.signedIn(request, hostModule, mount)?.role === 'admin';
  }

  /** The user of the session this origin carries, or null. */
  private signedIn(request: Request, hostModule: string | null, mount: Mount): User | null {
    const secure = this.ctx.secureCookies;
    if (hostModule !== null) {
      // hub.ts only sends a module's own mounts here from its origin.
      const token = readCookie(request, MODULE_SESSION_COOKIE, secure);
      return token ? moduleSessions.find(this.ctx.db, token, mount.module) : null;
    }
    const token = readCookie(request, SESSION_COOKIE, secure);
    return token ? (sessions.find(this.ctx.db, token)?.user ?? null) : null;
  }

  /** The scopes of a valid hub token, or why it is not one: signature, expiry, issuer, revocation. */
  private async tokenScopes(token: string): Promise<string[] | string> {
    try {
      const claims = await verifyToken(this.ctx.keys, this.ctx.db, token, {
        issuers: this.ctx.origins,
        audience: null,
      });
      const sub = claims.sub ?? '';
      if (sub.startsWith('usr_')) {
        // A user's tokens end when the user is deleted or signs out everywhere.
        const user = users.byId(this.ctx.db, sub);
        if (!user || (claims.iat ?? 0) * 1000 < user.tokens_valid_after) return 'revoked';
      }
      return (claims.scope ?? '').split(' ').filter(Boolean);
    } catch (error) {
      return error instanceof TokenError ? error.reason : 'invalid token';
    }
  }
}

/**
 * Whether a granted scope satisfies a required pattern: the same number of
 * colon segments, `*` in the pattern matching any one segment. A scope
 * without an instance (`vault:read`, every vault) also satisfies a pattern
 * asking for any instance (`vault:*:read`).
 */
export function scopeSatisfies(granted: string, pattern: string): boolean {
  const g = granted.split(':');
  const p = pattern.split(':');
  if (g.length === 2 && p.length === 3 && p[1] === '*') return g[0] === p[0] && g[1] === p[2];
  return g.length === p.length && p.every((segment, i) => segment === '*' || segment === g[i]);
}

/** A browser opening a page: it is sent to sign in, and comes back after. Null for anyone else. */
function signIn(request: Request, here: string, hostModule: string | null): Response | null {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  if (request.headers.has('authorization')) return null;
  if (!(request.headers.get('accept') ?? '').includes('text/html')) return null;
  // On a module's origin the hub's session is out of reach: the module's own sign-in carries it over.
  const start = hostModule === null ? '/login' : '/api/module-session/start';
  return new Response(null, {
    status: 302,
    headers: { location: `${start}?next=${encodeURIComponent(here)}`, 'cache-control': 'no-store' },
  });
}

function refuse(request: Request, status: 401 | 403, error: string, description: string): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="parachute"';
  if (wantsPage(request)) {
    const title = status === 401 ? 'Sign in needed' : 'Not for this account';
    return hubPage({
      status,
      eyebrow: status === 401 ? '401 · Sign in needed' : '403 · Forbidden',
      tone: 'warning',
      title,
      paragraphs: [description],
      headers,
    });
  }
  return Response.json(authError(error, description), { status, headers });
}
