import { Elysia } from 'elysia';
import { clients, parseRegistration } from './clients.ts';
import { noStoreJson, oauthError, preflight } from './http.ts';
import type { OAuthIssuer } from './issuer.ts';

/** Registration is open to anyone, so unapproved clients are bounded and expire. */
const MAX_PENDING_CLIENTS = 500;
const PENDING_CLIENT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * POST /oauth/register: dynamic client registration (RFC 7591) for public
 * clients. A new client is `pending` until a user approves it on the
 * consent page or an admin does in the SPA (auth.md section 4).
 */
export function registerRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  return new Elysia({ name: 'oauth.register' })
    .options('/oauth/register', preflight)
    .post('/oauth/register', async ({ request }) => {
      const body = await request.json().catch(() => undefined);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return oauthError(400, 'invalid_client_metadata', 'The body must be a JSON object.');
      }
      const parsed = parseRegistration(body);
      if (!parsed.ok) return oauthError(400, parsed.error, parsed.description);
      clients.prunePending(db, PENDING_CLIENT_MAX_AGE_MS);
      if (clients.countPending(db) >= MAX_PENDING_CLIENTS) {
        return oauthError(
          429,
          'temporarily_unavailable',
          'Too many apps are waiting for approval; an admin must approve or delete some first.',
        );
      }
      const client = clients.create(db, parsed.metadata);
      return noStoreJson(201, {
        ...parsed.metadata,
        client_id: client.client_id,
        client_id_issued_at: Math.floor(client.created_at / 1000),
      });
    });
}
