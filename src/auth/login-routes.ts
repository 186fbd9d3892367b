import { Elysia } from 'elysia';
import { clientIpOf } from '../platform/client-ip.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { clearedCookies } from './cookies.ts';
import { sameOriginRequest } from './csrf.ts';
import { authError, rateLimited } from './errors.ts';
import { requireSession } from './guard.ts';
import { verifyPassword } from './passwords.ts';
import { LoginBody, parseBody, TotpLoginBody } from './schema.ts';
import { startSession } from './session-start.ts';
import { sessions } from './sessions.ts';
import { checkSecondFactor } from './two-factor.ts';
import { publicUser, users } from './users.ts';

/** Sign in (password, then TOTP when enabled), sign out, and who am I. */
export function loginRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.login' })
    .post('/api/auth/login', async ({ request, body, status }) => {
      if (!sameOriginRequest(request, ctx)) {
        return status(403, authError('csrf_failed', 'Sign in from this hub’s own login page.'));
      }
      const parsed = parseBody(LoginBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const { username, password } = parsed.data;
      const ip = clientIpOf(request);
      const user = users.byUsername(ctx.db, username);
      const guess = await ctx.limiter.guess(
        ip,
        username,
        async () => (await verifyPassword(password, user?.password_hash ?? null)) && user !== null,
      );
      // Not signed in: a failed password is anonymous, the account tried is the target.
      const failed = { action: 'auth.login.failed', target: username } as const;
      if (guess.outcome === 'limited') {
        audit(ctx, request, null, {
          ...failed,
          outcome: 'denied',
          detail: { reason: 'rate_limited' },
        });
        return rateLimited(guess.retryAfterSeconds);
      }
      if (guess.outcome === 'wrong' || !user) {
        audit(ctx, request, null, {
          ...failed,
          outcome: 'failure',
          detail: { reason: user ? 'wrong_password' : 'unknown_user' },
        });
        return status(401, authError('invalid_credentials', 'Wrong username or password.'));
      }
      if (user.totp_enabled)
        return { two_factor_required: true, challenge: ctx.challenges.start(user.id) };
      ctx.limiter.recordSuccess(ip, username);
      audit(ctx, request, user, {
        action: 'auth.login',
        target: user.username,
        outcome: 'success',
      });
      return startSession(ctx, request, user);
    })
    .post('/api/auth/login/totp', async ({ request, body, status }) => {
      if (!sameOriginRequest(request, ctx)) {
        return status(403, authError('csrf_failed', 'Sign in from this hub’s own login page.'));
      }
      const parsed = parseBody(TotpLoginBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const userId = ctx.challenges.attempt(parsed.data.challenge);
      const user = userId ? users.byId(ctx.db, userId) : null;
      if (!user) {
        return status(
          401,
          authError('challenge_expired', 'The sign-in expired. Enter your password again.'),
        );
      }
      const ip = clientIpOf(request);
      const guess = await ctx.limiter.guess(ip, user.username, () =>
        checkSecondFactor(ctx.db, user, parsed.data.code),
      );
      const failed = { action: 'auth.login.failed', target: user.username } as const;
      if (guess.outcome === 'limited') {
        audit(ctx, request, user, {
          ...failed,
          outcome: 'denied',
          detail: { reason: 'rate_limited', step: 'totp' },
        });
        return rateLimited(guess.retryAfterSeconds);
      }
      if (guess.outcome === 'wrong') {
        audit(ctx, request, user, {
          ...failed,
          outcome: 'failure',
          detail: { reason: 'wrong_second_factor' },
        });
        return status(
          401,
          authError('invalid_code', 'That code is not valid. Try the current code from your app.'),
        );
      }
      ctx.challenges.finish(parsed.data.challenge);
      ctx.limiter.recordSuccess(ip, user.username);
      audit(ctx, request, user, {
        action: 'auth.login',
        target: user.username,
        outcome: 'success',
        detail: { second_factor: true },
      });
      return startSession(ctx, request, user);
    })
    .use(requireSession(ctx))
    .get('/api/auth/session', ({ user, set }) => {
      set.headers['cache-control'] = 'no-store';
      return { user: publicUser(user) };
    })
    .post('/api/auth/logout', ({ request, session, user }) => {
      audit(ctx, request, user, {
        action: 'auth.logout',
        target: user.username,
        outcome: 'success',
      });
      sessions.delete(ctx.db, session.id_hash);
      const headers = new Headers();
      for (const cookie of clearedCookies(ctx.secureCookies)) headers.append('set-cookie', cookie);
      return new Response(null, { status: 204, headers });
    });
}
