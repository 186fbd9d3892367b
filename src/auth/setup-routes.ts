import { Elysia } from 'elysia';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { sameOriginRequest } from './csrf.ts';
import { authError } from './errors.ts';
import { bearerToken, verifyBearer } from './guard.ts';
import { mintOperatorToken, OPERATOR_SCOPE } from './operator-token.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { parseBody, SetupBody } from './schema.ts';
import { startSession } from './session-start.ts';
import { users } from './users.ts';

/**
 * GET/POST /api/setup: claiming a new hub with the bootstrap token (auth.md
 * section 6). GET /api/setup/token hands this boot's bootstrap token to
 * `parachute setup-token`: only for the secret the hub wrote into
 * operator.token (a file only the hub's OS user and root can read: whoever
 * reads it could read the hub's log anyway); never for a session, a user's
 * or a module's token. Once an admin exists the operator token gets 409.
 */
export function setupRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.setup' })
    .get('/api/setup', () => ({ setup_required: !ctx.hasAdmin }))
    .get('/api/setup/token', async ({ request, status, set }) => {
      set.headers['cache-control'] = 'no-store';
      const token = bearerToken(request);
      if (!token) {
        set.headers['www-authenticate'] = 'Bearer realm="parachute"';
        return status(
          401,
          authError('unauthenticated', 'Send the operator token: run `parachute setup-token`.'),
        );
      }
      // Before setup: the reader secret the hub wrote into operator.token.
      const current = ctx.hasAdmin ? null : ctx.bootstrap.current;
      if (current && ctx.bootstrap.readerMatches(token)) return { bootstrap_token: current };
      // After setup the real operator token is told there is nothing left to read.
      const verified = await verifyBearer(ctx, token, 'operator');
      if (!verified.ok) return status(verified.status, verified.body);
      if (verified.claims.sub !== 'operator' || !verified.scopes.includes(OPERATOR_SCOPE)) {
        return status(
          403,
          authError('insufficient_scope', 'Only the operator token may read this.'),
        );
      }
      return status(
        409,
        authError('already_set_up', 'This hub already has an admin. Sign in at /login.'),
      );
    })
    .post('/api/setup', async ({ request, body, status }) => {
      if (ctx.hasAdmin) {
        return status(
          409,
          authError('already_set_up', 'This hub already has an admin. Sign in at /login.'),
        );
      }
      if (!sameOriginRequest(request, ctx)) {
        return status(
          403,
          authError('csrf_failed', 'Setup must be submitted from this hub’s own page.'),
        );
      }
      const parsed = parseBody(SetupBody, body);
      if (!parsed.ok) return status(400, parsed.error);
      const { bootstrap_token, username, password } = parsed.data;
      if (!ctx.bootstrap.matches(bootstrap_token)) {
        return status(
          403,
          authError(
            'invalid_bootstrap_token',
            'That is not this boot’s setup token. Copy the parachute-bootstrap-… line from the current hub log (a restart prints a new one).',
          ),
        );
      }
      const weak = passwordProblem(password, username);
      if (weak) return status(422, authError('weak_password', weak));
      // Used up before the first await, so a concurrent second request cannot reuse it.
      ctx.bootstrap.consume();
      const user = users.create(ctx.db, {
        username,
        passwordHash: await hashPassword(password),
        role: 'admin',
        mustChangePassword: false,
      });
      ctx.refreshAdminExists();
      // The hub's first admin, made by whoever held the boot's setup token.
      audit(ctx, request, user, {
        action: 'user.create',
        target: user.username,
        outcome: 'success',
        detail: { id: user.id, role: 'admin', via: 'setup' },
      });
      await mintOperatorToken(ctx, hubPaths(ctx.home).operatorToken);
      log.info(`admin "${username}" created through /admin/setup; operator token written`);
      return startSession(ctx, request, user, 201);
    });
}
