import { Elysia } from 'elysia';
import { audit } from '../audit.ts';
import { authError } from '../errors.ts';
import { requireSession } from '../guard.ts';
import type { User } from '../users.ts';
import { callbackUrl, issueCode } from './authorize-routes.ts';
import { isMetadataDocumentId } from './client-metadata.ts';
import { clients } from './clients.ts';
import { grants } from './grants.ts';
import { isProblem, type OAuthIssuer } from './issuer.ts';
import type { PendingAuthorization } from './pending.ts';
import { redirectHost } from './redirects.ts';

/** GET and POST /api/oauth/requests/:id: what the consent page shows, and the user's answer. */
export function consentRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  const unknown = authError(
    'unknown_request',
    'This request has expired or was already answered. Go back to the app and connect again.',
  );
  return new Elysia({ name: 'oauth.consent' })
    .use(requireSession(oauth.auth))
    .get('/api/oauth/requests/:id', ({ params, user, status }) => {
      const pending = oauth.pending.get(params.id, user.id);
      const client = pending ? clients.byId(db, pending.clientId) : null;
      if (!pending || !client) return status(404, unknown);
      const catalog = oauth.catalog();
      const scopes = pending.scopes.map((scope) => {
        const info = catalog.scopes.get(scope);
        return { scope, description: info?.description ?? scope, module: info?.module ?? null };
      });
      for (const verb of pending.vaultVerbs) {
        scopes.push({
          scope: `vault:${verb}`,
          description: catalog.describeBroadVault(verb),
          module: 'vault',
        });
      }
      return {
        id: pending.id,
        client: {
          client_id: client.client_id,
          client_name: client.client_name,
          client_uri:
            typeof client.metadata.client_uri === 'string' ? client.metadata.client_uri : null,
          redirect_uri: pending.redirectUri,
          redirect_host: redirectHost(pending.redirectUri),
          status: client.status,
          // A metadata document's client_id is its URL: the page names its host.
          metadata_host: isMetadataDocumentId(client.client_id)
            ? new URL(client.client_id).host
            : null,
          // Trusted hub-wide only by an admin; a user's own grant covers only them.
          first_time:
            client.status !== 'approved' && grants.find(db, user.id, client.client_id) === null,
        },
        scopes,
        // Asked for but not grantable here: shown so the page hides nothing.
        not_granted: pending.dropped,
        vault_choice:
          pending.vaultVerbs.length > 0
            ? { verbs: pending.vaultVerbs, vaults: oauth.vaultsOf(user, catalog) }
            : null,
        user: { username: user.username },
      };
    })
    .post('/api/oauth/requests/:id', ({ request, params, body, user, status }) => {
      const pending = oauth.pending.get(params.id, user.id);
      const client = pending ? clients.byId(db, pending.clientId) : null;
      if (!pending || !client) return status(404, unknown);
      const answer = (body ?? {}) as { decision?: unknown; vaults?: unknown };
      if (answer.decision !== 'approve' && answer.decision !== 'deny') {
        return status(400, authError('invalid_request', 'decision must be "approve" or "deny".'));
      }
      const back = (params: Record<string, string>) => ({
        redirect: callbackUrl(pending.redirectUri, {
          ...params,
          ...(pending.state !== null ? { state: pending.state } : {}),
          iss: oauth.issuer,
        }),
      });
      if (answer.decision === 'deny') {
        oauth.pending.take(pending.id, user.id);
        audit(oauth.auth, request, user, {
          action: 'app.consent.deny',
          target: client.client_id,
          outcome: 'success',
          detail: { client_name: client.client_name },
        });
        return back({ error: 'access_denied', error_description: 'The user declined.' });
      }
      if (client.status === 'denied') {
        return status(403, authError('client_denied', 'An admin of this hub denied this app.'));
      }
      const scopes = finalScopes(oauth, pending, user, answer.vaults);
      if ('error' in scopes) return status(400, scopes);
      oauth.pending.take(pending.id, user.id);
      // Only an admin's approval trusts the app hub-wide (auth.md section 4);
      // anyone else's records their own grant, and others still see the warning.
      if (client.status === 'pending' && user.role === 'admin') {
        clients.setStatus(db, client.client_id, 'approved');
      }
      const grant = grants.record(db, user.id, client.client_id, scopes.list);
      audit(oauth.auth, request, user, {
        action: 'app.consent.approve',
        target: client.client_id,
        outcome: 'success',
        detail: { client_name: client.client_name, scopes: scopes.list },
      });
      return back({ code: issueCode(oauth, pending, grant.id, scopes.list) });
    });
}

/** The scopes approved: exact ones as asked, broad vault ones narrowed to the vaults picked. */
function finalScopes(
  oauth: OAuthIssuer,
  pending: PendingAuthorization,
  user: User,
  picked: unknown,
): { list: string[] } | ReturnType<typeof authError> {
  const catalog = oauth.catalog();
  const list = [...pending.scopes];
  if (pending.vaultVerbs.length > 0) {
    const allowed = oauth.vaultsOf(user, catalog);
    if (!Array.isArray(picked) || picked.length === 0) {
      return authError('invalid_request', 'Pick at least one vault this app may use.');
    }
    for (const vault of picked) {
      if (typeof vault !== 'string' || !allowed.includes(vault)) {
        return authError(
          'invalid_request',
          `You cannot grant access to the vault ${String(vault)}.`,
        );
      }
      for (const verb of pending.vaultVerbs) {
        const scope = `vault:${vault}:${verb}`;
        if (!catalog.scopes.has(scope)) {
          return authError('invalid_request', `The vault ${vault} does not offer ${verb} access.`);
        }
        list.push(scope);
      }
    }
  }
  // Checked again even when nothing was picked: an admin may have taken a
  // vault away from the user while the page was open.
  const resource = pending.resource ? oauth.resolveResource(catalog, pending.resource) : null;
  const checked = oauth.narrowScopes(
    catalog,
    list,
    resource && !isProblem(resource) ? resource : null,
    user,
  );
  if (isProblem(checked)) return authError(checked.error, checked.description);
  // Never more than the page showed: narrowing again can only remove.
  return { list: checked.scopes };
}
