import { Elysia } from 'elysia';
import { authError } from '../errors.ts';
import { requireSession } from '../guard.ts';
import type { User } from '../users.ts';
import { clients, publicClient } from './clients.ts';
import { grants, scopeList } from './grants.ts';
import type { OAuthIssuer } from './issuer.ts';
import { families } from './tokens.ts';

/**
 * The Connected apps page's API (auth.md section 4): every user sees and
 * revokes their own grants and token families; admins see everyone's and
 * approve, deny and delete clients.
 */
export function appsRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  const adminOnly = authError('insufficient_scope', 'Only admins manage registered apps.');
  const unknownClient = (id: string) => authError('unknown_client', `No app with client_id ${id}.`);
  const mayManage = (user: User, ownerId: string) => user.role === 'admin' || user.id === ownerId;
  return new Elysia({ name: 'oauth.apps' })
    .use(requireSession(oauth.auth))
    .get('/api/oauth/grants', ({ user }) => ({
      grants: grants.list(db, user.role === 'admin' ? null : user.id).map((g) => ({
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
    .delete('/api/oauth/grants/:id', ({ params, user, status }) => {
      const grant = grants.byId(db, params.id);
      if (!grant || !mayManage(user, grant.user_id)) {
        return status(404, authError('unknown_grant', `No grant with id ${params.id}.`));
      }
      // Access tokens first: deleting the grant cascades to the families that list them.
      families.revokeWhere(db, 'grant_id', grant.id);
      db.run('DELETE FROM oauth_grants WHERE id = ?', [grant.id]);
      return new Response(null, { status: 204 });
    })
    .delete('/api/oauth/tokens/:id', ({ params, user, status }) => {
      const family = families.byId(db, params.id);
      if (!family || !mayManage(user, family.user_id)) {
        return status(404, authError('unknown_token', `No token with id ${params.id}.`));
      }
      families.revoke(db, family.id);
      return new Response(null, { status: 204 });
    })
    .get('/api/oauth/clients', ({ user, status }) => {
      if (user.role !== 'admin') return status(403, adminOnly);
      return { clients: clients.list(db).map(publicClient) };
    })
    .post('/api/oauth/clients/:id/:action', ({ params, user, status }) => {
      if (user.role !== 'admin') return status(403, adminOnly);
      if (params.action !== 'approve' && params.action !== 'deny') {
        return status(404, authError('not_found', `Use /approve or /deny, not /${params.action}.`));
      }
      const client = clients.byId(db, params.id);
      if (!client) return status(404, unknownClient(params.id));
      if (params.action === 'deny') families.revokeWhere(db, 'client_id', client.client_id);
      clients.setStatus(db, client.client_id, params.action === 'approve' ? 'approved' : 'denied');
      return { client: publicClient(clients.byId(db, client.client_id) ?? client) };
    })
    .delete('/api/oauth/clients/:id', ({ params, user, status }) => {
      if (user.role !== 'admin') return status(403, adminOnly);
      const client = clients.byId(db, params.id);
      if (!client) return status(404, unknownClient(params.id));
      families.revokeWhere(db, 'client_id', client.client_id);
      clients.delete(db, client.client_id);
      return new Response(null, { status: 204 });
    });
}
