import { Elysia } from 'elysia';
import type { Actor } from '../store/audit.ts';
import { actorOf, audit } from './audit.ts';
import { CONNECTION_ID, type CredentialConnections } from './connection-credentials.ts';
import { connections } from './connections.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { authenticate, bearerToken } from './guard.ts';
import { adminPageCaller, noStore } from './page-caller.ts';

type Operator =
  | { ok: true; module: string | null; actor: Actor }
  | { ok: false; response: Response };

/**
 * Who may manage connections: the operator's bearer (`parachute:host:admin`),
 * or an admin's page of the same origin with the session cookie alone, as
 * surface's admin page calls it (auth/page-caller.ts). On a module's own
 * origin, `module` names it and only its connections are in reach.
 */
async function operator(ctx: AuthContext, request: Request): Promise<Operator> {
  if (bearerToken(request)) {
    const check = await authenticate(ctx, request, 'parachute:host:admin');
    return check.ok
      ? { ok: true, module: null, actor: actorOf(check.principal) }
      : { ok: false, response: noStore(check.status, check.body) };
  }
  const check = adminPageCaller(ctx, request);
  return check.ok
    ? { ok: true, module: check.caller.module, actor: actorOf(check.caller.user) }
    : check;
}

/**
 * Credential connections (issue 15 point 2; upstream's `/admin/connections`):
 *
 *   GET    /admin/connections               -> {ok, connections: [...]}
 *   POST   /admin/connections               {kind: "credential", credential: {module, key, vault, tags?}, id?, requestedBy?}
 *                                           -> {ok, connection, expires_at}; 502 provision_failed
 *   DELETE /admin/connections/:id           -> {ok, id} or 207 {ok: false, id, partial, errors}
 *   POST   /admin/connections/:id/renew     bearer = the current credential -> {ok, credential}
 */
export function connectionsRoutes(ctx: AuthContext, service: CredentialConnections) {
  return new Elysia({ name: 'auth.connections' })
    .get('/admin/connections', async ({ request }) => {
      const who = await operator(ctx, request);
      if (!who.ok) return who.response;
      const list = connections
        .list(ctx.db)
        .filter((c) => who.module === null || c.module === who.module)
        .map((c) => connections.wire(ctx.db, c));
      return noStore(200, { ok: true, connections: list });
    })
    .post('/admin/connections', async ({ request, body }) => {
      const who = await operator(ctx, request);
      if (!who.ok) return who.response;
      const result = await service.create(body, who.module);
      audit(ctx, request, who.actor, {
        action: 'connection.create',
        target: result.ok ? connectionId(result.response) : null,
        outcome: result.ok ? 'success' : 'failure',
        detail: result.ok ? undefined : { status: result.status },
      });
      return result.ok ? noStore(200, result.response) : noStore(result.status, result.body);
    })
    .delete('/admin/connections/:id', async ({ request, params }) => {
      const who = await operator(ctx, request);
      if (!who.ok) return who.response;
      const found = CONNECTION_ID.test(params.id) ? connections.get(ctx.db, params.id) : null;
      if (!found) {
        return noStore(404, authError('not_found', `No connection "${params.id}".`));
      }
      if (who.module !== null && found.module !== who.module) {
        return noStore(
          403,
          authError(
            'wrong_module',
            `This is ${who.module}'s own origin: connection "${found.id}" belongs to ${found.module}.`,
          ),
        );
      }
      const errors = await service.teardown(found);
      audit(ctx, request, who.actor, {
        action: 'connection.delete',
        target: found.id,
        outcome: errors.length === 0 ? 'success' : 'failure',
        detail: { module: found.module, vault: found.vault },
      });
      return errors.length === 0
        ? noStore(200, { ok: true, id: found.id })
        : noStore(207, { ok: false, id: found.id, partial: true, errors });
    })
    .post('/admin/connections/:id/renew', async ({ request, params }) => {
      const result = await service.renew(params.id, bearerToken(request));
      // The credential's holder renews it: the module it is delivered to (anonymous if refused).
      const found = CONNECTION_ID.test(params.id) ? connections.get(ctx.db, params.id) : null;
      audit(ctx, request, result.ok && found ? { id: null, name: found.module } : null, {
        action: 'connection.renew',
        target: found ? found.id : params.id.slice(0, 64),
        outcome: result.ok ? 'success' : 'failure',
        detail: result.ok ? undefined : { status: result.status },
      });
      return result.ok ? noStore(200, result.response) : noStore(result.status, result.body);
    });
}

/** The id of the connection a create answered with, for the audit log. */
function connectionId(response: object): string | null {
  return (response as { connection?: { id?: string } }).connection?.id ?? null;
}
