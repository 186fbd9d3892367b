import { Elysia } from 'elysia';
import type { AuthContext } from './context.ts';
import { readCookie, SESSION_COOKIE } from './cookies.ts';
import { csrfProblem, isMutation } from './csrf.ts';
import { authError } from './errors.ts';
import { constantTimeEqual } from './hash.ts';
import { TokenError, verifyToken } from './jwt.ts';
import { movedOperatorIssuer } from './operator-token.ts';
import { type Session, sessions } from './sessions.ts';
import type { User } from './users.ts';
import { users } from './users.ts';

/** Who is making a request: a signed-in browser or a bearer token. */
export type Principal =
  | { kind: 'session'; user: User; session: Session }
  | { kind: 'token'; sub: string; scopes: string[]; user: User | null };

/** Audiences a bearer token may carry to call the hub's own APIs. */
const HUB_AUDIENCES = ['operator', 'hub'];

/** A refusal: the status and the JSON body to answer with. */
export type Denied = { ok: false; status: 401 | 403; body: ReturnType<typeof authError> };

type Check = { ok: true; principal: Principal } | Denied;

/**
 * Authenticates a request: the session cookie (with CSRF on mutations) or
 * `Authorization: Bearer <hub JWT>`. `scope` is what a token must carry and
 * what a session user's role must grant (admins hold every hub scope).
 */
export async function authenticate(
  ctx: AuthContext,
  request: Request,
  scope: string | null,
): Promise<Check> {
  const token = bearerToken(request);
  if (token) return bearer(ctx, token, scope);
  const cookie = readCookie(request, SESSION_COOKIE, ctx.secureCookies);
  const found = cookie ? sessions.find(ctx.db, cookie) : null;
  if (!found) return deny(401, 'unauthenticated', 'Sign in, or send a bearer token.');
  if (isMutation(request.method)) {
    const problem = csrfProblem(request, found.session, ctx);
    if (problem)
      return deny(403, 'csrf_failed', `Refused: ${problem}. Reload the page and try again.`);
  }
  if (scope && found.user.role !== 'admin') {
    return deny(403, 'insufficient_scope', `This needs ${scope}, which only admins hold.`);
  }
  return { ok: true, principal: { kind: 'session', ...found } };
}

async function bearer(ctx: AuthContext, token: string, scope: string | null): Promise<Check> {
  const verified = await verifyBearer(ctx, token, HUB_AUDIENCES);
  if (!verified.ok) return verified;
  const { claims, scopes, user } = verified;
  if (scope && !scopes.includes(scope)) {
    return deny(403, 'insufficient_scope', `The token lacks the ${scope} scope.`);
  }
  return { ok: true, principal: { kind: 'token', sub: claims.sub ?? '', scopes, user } };
}

/** A verified hub bearer token: its claims, scopes and user (for a user's token). */
export interface VerifiedBearer {
  ok: true;
  claims: Awaited<ReturnType<typeof verifyToken>>;
  scopes: string[];
  user: User | null;
}

/**
 * Verifies a hub bearer token for `audience` (null: any; the caller then
 * judges it by its scopes): signature, issuer, expiry, the revocation list,
 * and a user's tokens issued before a password reset.
 */
export async function verifyBearer(
  ctx: AuthContext,
  token: string,
  audience: string | string[] | null,
): Promise<VerifiedBearer | Denied> {
  try {
    // The old host's operator token after a move: its issuer, for the operator audience alone.
    const moved = movedOperatorIssuer(ctx.db, token);
    if (moved && audience !== null && ![audience].flat().includes('operator')) {
      return deny(401, 'unauthenticated', 'The bearer token was refused: not for this audience.');
    }
    const claims = moved
      ? await verifyToken(ctx.keys, ctx.db, token, { issuers: [moved], audience: 'operator' })
      : await verifyToken(ctx.keys, ctx.db, token, { issuers: ctx.origins, audience });
    const scopes = (claims.scope ?? '').split(' ').filter(Boolean);
    const user = claims.sub?.startsWith('usr_') ? users.byId(ctx.db, claims.sub) : null;
    if (
      claims.sub?.startsWith('usr_') &&
      (!user || (claims.iat ?? 0) * 1000 < user.tokens_valid_after)
    ) {
      return deny(401, 'unauthenticated', 'The token was revoked.');
    }
    return { ok: true, claims, scopes, user };
  } catch (error) {
    const reason = error instanceof TokenError ? error.reason : 'invalid token';
    return deny(401, 'unauthenticated', `The bearer token was refused: ${reason}.`);
  }
}

/**
 * True when the request's bearer token is `expected`, a secret the operator's
 * platform set in the environment (a one-time import token, the hosting
 * provider's export token), compared in constant time; false when either is missing.
 */
export function bearerIs(request: Request, expected: string | undefined): boolean {
  const want = expected?.trim();
  const given = bearerToken(request);
  return Boolean(want && given && constantTimeEqual(given, want));
}

/** The token in an `Authorization: Bearer` header (scheme case-insensitive), or null. */
export function bearerToken(request: Request): string | null {
  const authorization = request.headers.get('authorization');
  if (!authorization?.toLowerCase().startsWith('bearer ')) return null;
  return authorization.slice(7).trim() || null;
}

function deny(status: 401 | 403, error: string, description: string): Denied {
  return { ok: false, status, body: authError(error, description) };
}

/** Routes that `.use()` this need an admin session (+CSRF) or a token with `scope`. */
export function requireAuth(ctx: AuthContext, scope = 'parachute:host:admin') {
  return new Elysia({ name: 'auth.require', seed: scope }).resolve(
    { as: 'scoped' },
    async ({ request, status, set }) => {
      const check = await authenticate(ctx, request, scope);
      if (!check.ok) {
        if (check.status === 401) set.headers['www-authenticate'] = 'Bearer realm="parachute"';
        return status(check.status, check.body);
      }
      return { principal: check.principal };
    },
  );
}

/** Routes that `.use()` this need any signed-in user's session (+CSRF on mutations). */
export function requireSession(ctx: AuthContext) {
  return new Elysia({ name: 'auth.session' }).resolve(
    { as: 'scoped' },
    async ({ request, status }) => {
      const check = await authenticate(ctx, request, null);
      if (!check.ok) return status(check.status, check.body);
      if (check.principal.kind !== 'session') {
        return status(401, authError('unauthenticated', 'This needs a signed-in session.'));
      }
      return { user: check.principal.user, session: check.principal.session };
    },
  );
}
