import { Elysia } from 'elysia';
import { audit } from '../audit.ts';
import type { AuthContext } from '../context.ts';
import { authError } from '../errors.ts';
import { authenticate } from '../guard.ts';
import { clients, publicClient } from './clients.ts';
import { grants, scopeList } from './grants.ts';
import type { OAuthIssuer } from './issuer.ts';
import { families } from './tokens.ts';

/** Who manages apps: a signed-in user, or the operator token (acting as an admin). */
interface Actor {
  admin: boolean;
  userId: string | null;
}

/**
 * A session (with CSRF on mutations), or a bearer token with
 * parachute:host:admin such as the operator token, so automation can manage
 * apps like every other hub API.
 */
function requireActor(ctx: AuthContext) {
  return new Elysia({ name: 'oauth.actor' }).resolve(
    { as: 'scoped' },
    async ({ request, status, set }) => {
      const bearer = /^bearer /i.test(request.headers.get('authorization') ?? '');
      const check = await authenticate(ctx, request, bearer ? 'parachute:host:admin' : null);
      if (!check.ok) {
        if (check.status === 401) set.headers['www-authenticate'] = 'Bearer realm="parachute"';
        return status(check.status, check.body);
      }
      const p = check.principal;
      const actor: Actor =
        p.kind === 'session'
          ? { admin: p.user.role === 'admin', userId: p.user.id }
          : { admin: true, userId: p.user?.id ?? null };
      return { actor, principal: p };
    },
  );
}

/**
 * The Connected apps page's API (auth.md section 4): every user sees and
 * revokes their own grants and token families; admins see everyone's and
 * approve, deny and delete clients.
 */
export function appsRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  const adminOnly = authError('insufficient_scope', 'Only admins manage registered apps.');
  const unknownClient = (id: string) => authError('unknown_client', `No app with client_id ${id}.`);
  const mayManage = (actor: Actor, ownerId: string) => actor.admin || actor.userId === ownerId;
  return new Elysia({ name: 'oauth.apps' })
    .use(requireActor(oauth.auth))
    .get('/api/oauth/grants', ({ actor }) => ({
      grants: grants.list(db, actor.admin ? null : actor.userId).map((g) => ({
        id: g.id,
        client_id: g.client_id,
        client_name: g.client_name,
        user_id: g.user_id,
        username: g.username,
        scopes: scopeList(g.scope),
        created_at: g.created_at,
        updated_at: g.updated_at,
        tokens: families.listForGrant(db, g.id).map((f) => ({
          id: f.id,
          scopes: scopeList(f.scope),
          created_at: f.created_at,
          last_used_at: f.last_used_at,
          expires_at: f.expires_at,
        })),
      })),
    }))
    .delete('/api/oauth/grants/:id', ({ request, principal, params, actor, status }) => {
      const grant = grants.byId(db, params.id);
      if (!grant || !mayManage(actor, grant.user_id)) {
        return status(404, authError('unknown_grant', `No grant with id ${params.id}.`));
      }
      // Access tokens first: deleting the grant cascades to the families that list them.
      families.revokeWhere(db, 'grant_id', grant.id);
      db.run('DELETE FROM oauth_grants WHERE id = ?', [grant.id]);
      audit(oauth.auth, request, principal, {
        action: 'app.grant.revoke',
        target: grant.client_id,
        outcome: 'success',
        detail: { grant_id: grant.id },
      });
      return new Response(null, { status: 204 });
    })
    .delete('/api/oauth/tokens/:id', ({ request, principal, params, actor, status }) => {
      const family = families.byId(db, params.id);
      if (!family || !mayManage(actor, family.user_id)) {
        return status(404, authError('unknown_token', `No token with id ${params.id}.`));
      }
      families.revoke(db, family.id);
      audit(oauth.auth, request, principal, {
        action: 'app.token.revoke',
        target: family.client_id,
        outcome: 'success',
        detail: { id: family.id },
      });
      return new Response(null, { status: 204 });
    })
    .get('/api/oauth/clients', ({ actor, status }) => {
      if (!actor.admin) return status(403, adminOnly);
      return { clients: clients.list(db).map(publicClient) };
    })
    .post('/api/oauth/clients/:id/:action', ({ request, principal, params, actor, status }) => {
      if (!actor.admin) return status(403, adminOnly);
      if (params.action !== 'approve' && params.action !== 'deny') {
        return status(404, authError('not_found', `Use /approve or /deny, not /${params.action}.`));
      }
      const client = clients.byId(db, params.id);
      if (!client) return status(404, unknownClient(params.id));
      if (params.action === 'deny') families.revokeWhere(db, 'client_id', client.client_id);
      clients.setStatus(db, client.client_id, params.action === 'approve' ? 'approved' : 'denied');
      audit(oauth.auth, request, principal, {
        action: `app.${params.action}`,
        target: client.client_id,
        outcome: 'success',
        detail: { name: client.client_name },
      });
      return { client: publicClient(clients.byId(db, client.client_id) ?? client) };
    })
    .delete('/api/oauth/clients/:id', ({ request, principal, params, actor, status }) => {
      if (!actor.admin) return status(403, adminOnly);
      const client = clients.byId(db, params.id);
      if (!client) return status(404, unknownClient(params.id));
      clients.delete(db, client.client_id);
      audit(oauth.auth, request, principal, {
        action: 'app.delete',
        target: client.client_id,
        outcome: 'success',
        detail: { name: client.client_name },
      });
      return new Response(null, { status: 204 });
    });
}
