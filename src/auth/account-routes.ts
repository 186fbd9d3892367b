import { Elysia } from 'elysia';
import { clientIpOf } from '../platform/client-ip.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError, rateLimited } from './errors.ts';
import { requireSession } from './guard.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { ChangePasswordBody, DisableTotpBody, EnableTotpBody, parseBody } from './schema.ts';
import { sessions } from './sessions.ts';
import {
  beginTotpEnrollment,
  completeTotpEnrollment,
  disableTotp,
  renewBackupCodes,
} from './two-factor.ts';
import { type User, users } from './users.ts';

/** The signed-in user's own password and two-factor settings. */
export function accountRoutes(ctx: AuthContext) {
  // A current password is checked under the sign-in limits: it is the same guess.
  const checkPassword = (request: Request, user: User, password: string) =>
    ctx.limiter.guess(clientIpOf(request), user.username, () =>
      verifyPassword(password, user.password_hash),
    );
  const wrongPassword = authError('invalid_credentials', 'The current password is wrong.');

  return new Elysia({ name: 'auth.account' })
    .use(requireSession(ctx))
    .post('/api/account/password', async ({ request, body, user, session, status }) => {
      const parsed = parseBody(ChangePasswordBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const guess = await checkPassword(request, user, parsed.data.current_password);
      if (guess.outcome === 'limited') {
        return rateLimited(guess.retryAfterSeconds, 'wrong passwords');
      }
      if (guess.outcome === 'wrong') {
        audit(ctx, request, user, {
          action: 'account.password.failed',
          target: user.username,
          outcome: 'failure',
        });
        return status(401, wrongPassword);
      }
      const weak = passwordProblem(parsed.data.new_password, user.username);
      if (weak) return status(422, authError('weak_password', weak));
      users.setPassword(ctx.db, user.id, await hashPassword(parsed.data.new_password), false);
      // Everywhere else this password was in use is signed out; this browser stays in.
      sessions.deleteForUser(ctx.db, user.id, session.id_hash);
      users.invalidateTokens(ctx.db, user.id);
      audit(ctx, request, user, {
        action: 'account.password',
        target: user.username,
        outcome: 'success',
      });
      return new Response(null, { status: 204 });
    })
    .get('/api/account/sessions', ({ user, session }) => ({
      // The caller's own sessions: never the hash, only which one is this browser.
      sessions: sessions.listForUser(ctx.db, user.id).map((s) => ({
        created_at: new Date(s.created_at).toISOString(),
        last_seen_at: new Date(s.last_seen_at).toISOString(),
        ip: s.ip,
        user_agent: s.user_agent,
        current: s.id_hash === session.id_hash,
      })),
    }))
    .post('/api/account/sessions/revoke-others', ({ request, user, session }) => {
      // "End all other sessions": every session of this user but this one.
      sessions.deleteForUser(ctx.db, user.id, session.id_hash);
      audit(ctx, request, user, {
        action: 'account.sessions.revoke',
        target: user.username,
        outcome: 'success',
      });
      return new Response(null, { status: 204 });
    })
    .post('/api/account/totp/setup', ({ user, status }) => {
      if (user.totp_enabled) {
        return status(
          409,
          authError('totp_already_enabled', 'Two-factor sign-in is already on. Disable it first.'),
        );
      }
      return beginTotpEnrollment(ctx.db, user, `Parachute (${new URL(ctx.origin).hostname})`);
    })
    .post('/api/account/totp/enable', ({ request, body, user, status }) => {
      const parsed = parseBody(EnableTotpBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const codes = completeTotpEnrollment(ctx.db, user, parsed.data.code);
      if (!codes) {
        return status(
          400,
          authError(
            'invalid_code',
            'That code does not match. Check the app and the device clock.',
          ),
        );
      }
      audit(ctx, request, user, {
        action: 'account.totp.enable',
        target: user.username,
        outcome: 'success',
      });
      return { backup_codes: codes };
    })
    .post('/api/account/totp/backup-codes', async ({ request, body, user, status }) => {
      // The password again, like disabling: codes that sign in are not handed to an unattended session.
      const parsed = parseBody(DisableTotpBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      if (!user.totp_enabled) {
        return status(
          409,
          authError(
            'totp_not_enabled',
            'Two-factor sign-in is off: turn it on to get backup codes.',
          ),
        );
      }
      const guess = await checkPassword(request, user, parsed.data.password);
      if (guess.outcome === 'limited') {
        return rateLimited(guess.retryAfterSeconds, 'wrong passwords');
      }
      const entry = { action: 'account.backup_codes', target: user.username } as const;
      if (guess.outcome === 'wrong') {
        audit(ctx, request, user, { ...entry, outcome: 'failure' });
        return status(401, wrongPassword);
      }
      const codes = renewBackupCodes(ctx.db, user.id);
      audit(ctx, request, user, { ...entry, outcome: 'success' });
      return { backup_codes: codes };
    })
    .post('/api/account/totp/disable', async ({ request, body, user, status }) => {
      const parsed = parseBody(DisableTotpBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const guess = await checkPassword(request, user, parsed.data.password);
      if (guess.outcome === 'limited') {
        return rateLimited(guess.retryAfterSeconds, 'wrong passwords');
      }
      if (guess.outcome === 'wrong') return status(401, wrongPassword);
      disableTotp(ctx.db, user.id);
      audit(ctx, request, user, {
        action: 'account.totp.disable',
        target: user.username,
        outcome: 'success',
      });
      return new Response(null, { status: 204 });
    });
}
