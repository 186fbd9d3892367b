import { Elysia } from 'elysia';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { sameOriginRequest } from './csrf.ts';
import { authError } from './errors.ts';
import { mintOperatorToken } from './operator-token.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { parseBody, SetupBody } from './schema.ts';
import { startSession } from './session-start.ts';
import { users } from './users.ts';

/** GET/POST /api/setup: claiming a new hub with the bootstrap token (auth.md section 6). */
export function setupRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.setup' })
    .get('/api/setup', () => ({ setup_required: !ctx.hasAdmin }))
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
