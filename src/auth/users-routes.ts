import { Elysia } from 'elysia';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { requireAuth } from './guard.ts';
import { userVaults } from './oauth/grants.ts';
import { families } from './oauth/tokens.ts';
import { hashPassword, temporaryPassword } from './passwords.ts';
import { CreateUserBody, parseBody, UserVaultsBody } from './schema.ts';
import { sessions } from './sessions.ts';
import { publicUser, users } from './users.ts';

/** Admin management of accounts (auth.md section 6). */
export function usersRoutes(ctx: AuthContext) {
  return (
    new Elysia({ name: 'auth.users' })
      .use(requireAuth(ctx))
      .get('/api/users', () => ({ users: users.list(ctx.db).map(publicUser) }))
      .post('/api/users', async ({ request, principal, body, status }) => {
        const parsed = parseBody(CreateUserBody, body);
        if (!parsed.ok) return status(400, parsed.error);
        if (users.byUsername(ctx.db, parsed.data.username)) {
          return status(
            409,
            authError('username_taken', `There is already a user named ${parsed.data.username}.`),
          );
        }
        const temporary = temporaryPassword();
        const passwordHash = await hashPassword(temporary);
        // Checked again after the hash: a second request for the same name
        // may have created it meanwhile (then 409, not a constraint error).
        // From here to the insert nothing awaits, so nothing can interleave.
        if (users.byUsername(ctx.db, parsed.data.username)) {
          return status(
            409,
            authError('username_taken', `There is already a user named ${parsed.data.username}.`),
          );
        }
        const user = users.create(ctx.db, {
          username: parsed.data.username,
          passwordHash,
          role: parsed.data.role,
          mustChangePassword: true,
        });
        ctx.refreshAdminExists();
        audit(ctx, request, principal, {
          action: 'user.create',
          target: user.username,
          outcome: 'success',
          detail: { id: user.id, role: user.role },
        });
        return status(201, { user: publicUser(user), temporary_password: temporary });
      })
      .post('/api/users/:id/reset-password', async ({ request, principal, params, status }) => {
        const user = users.byId(ctx.db, params.id);
        if (!user) return status(404, authError('unknown_user', `No user with id ${params.id}.`));
        const temporary = temporaryPassword();
        users.setPassword(ctx.db, user.id, await hashPassword(temporary), true);
        sessions.deleteForUser(ctx.db, user.id);
        users.invalidateTokens(ctx.db, user.id);
        audit(ctx, request, principal, {
          action: 'user.reset_password',
          target: user.username,
          outcome: 'success',
          detail: { id: user.id },
        });
        return {
          user: publicUser(users.byId(ctx.db, user.id) ?? user),
          temporary_password: temporary,
        };
      })
      // Vaults a non-admin user may grant apps access to (auth.md sections 4 and 6).
      .get('/api/users/:id/vaults', ({ params, status }) => {
        if (!users.byId(ctx.db, params.id)) return status(404, unknownUser(params.id));
        return { vaults: userVaults.of(ctx.db, params.id) };
      })
      .put('/api/users/:id/vaults', ({ request, principal, params, body, status }) => {
        const user = users.byId(ctx.db, params.id);
        if (!user) return status(404, unknownUser(params.id));
        const parsed = parseBody(UserVaultsBody, body);
        if (!parsed.ok) return status(400, parsed.error);
        userVaults.set(ctx.db, params.id, parsed.data.vaults);
        // Admins hold every vault whatever is assigned; a user's apps lose what they lost.
        if (user.role !== 'admin')
          families.revokeOutsideVaults(ctx.db, user.id, parsed.data.vaults);
        audit(ctx, request, principal, {
          action: 'user.vaults',
          target: user.username,
          outcome: 'success',
          detail: { id: user.id, vaults: parsed.data.vaults },
        });
        return { vaults: userVaults.of(ctx.db, params.id) };
      })
      .delete('/api/users/:id', ({ request, params, principal, status }) => {
        const user = users.byId(ctx.db, params.id);
        if (!user) return status(404, authError('unknown_user', `No user with id ${params.id}.`));
        if (principal.kind === 'session' && principal.user.id === user.id) {
          return status(
            409,
            authError(
              'cannot_delete_self',
              'You cannot delete the account you are signed in with.',
            ),
          );
        }
        if (user.role === 'admin' && users.count(ctx.db, 'admin') === 1) {
          return status(
            409,
            authError('last_admin', 'This is the only admin; create another admin first.'),
          );
        }
        users.delete(ctx.db, user.id);
        ctx.refreshAdminExists();
        audit(ctx, request, principal, {
          action: 'user.delete',
          target: user.username,
          outcome: 'success',
          detail: { id: user.id, role: user.role },
        });
        return new Response(null, { status: 204 });
      })
  );
}

function unknownUser(id: string) {
  return authError('unknown_user', `No user with id ${id}.`);
}
