import { Elysia } from 'elysia';
import { clientIpOf } from '../../platform/client-ip.ts';
import { addressKey, SlidingWindow } from '../rate-limit.ts';
import { clients, parseRegistration } from './clients.ts';
import { noStoreJson, oauthError, preflight } from './http.ts';
import type { OAuthIssuer } from './issuer.ts';

// An app registers once per server it connects to; even someone re-running a
// client under development stays far below this.
const REGISTRATIONS_PER_ADDRESS = 60;
const REGISTRATION_WINDOW_MS = 60 * 60 * 1000;

/**
 * POST /oauth/register: dynamic client registration (RFC 7591) for public
 * clients. A new client is `pending` until a user approves it on the
 * consent page or an admin does in the SPA (auth.md section 4).
 */
export function registerRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  const registrations = new SlidingWindow(REGISTRATION_WINDOW_MS);
  return new Elysia({ name: 'oauth.register' })
    .options('/oauth/register', preflight)
    .post('/oauth/register', async ({ request }) => {
      const address = addressKey(clientIpOf(request));
      const wait = registrations.wait(address, REGISTRATIONS_PER_ADDRESS);
      if (wait > 0) {
        return noStoreJson(
          429,
          {
            error: 'temporarily_unavailable',
            error_description: `Too many apps registered from this address; retry in ${wait} s.`,
          },
          { 'retry-after': String(wait) },
        );
      }
      const body = await request.json().catch(() => undefined);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return oauthError(400, 'invalid_client_metadata', 'The body must be a JSON object.');
      }
      const parsed = parseRegistration(body);
      if (!parsed.ok) return oauthError(400, parsed.error, parsed.description);
      // At the cap the oldest unapproved registration gives way: a flood of
      // registrations (capped per address above) can never lock new apps out.
      clients.makeRoomForPending(db);
      const client = clients.create(db, parsed.metadata);
      registrations.record(address);
      return noStoreJson(201, {
        ...parsed.metadata,
        client_id: client.client_id,
        client_id_issued_at: Math.floor(client.created_at / 1000),
      });
    });
}
