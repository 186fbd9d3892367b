import { Elysia } from 'elysia';
import { clientIpOf } from '../../platform/client-ip.ts';
import { audit } from '../audit.ts';
import type { AuthContext } from '../context.ts';
import { readCookie, SESSION_COOKIE } from '../cookies.ts';
import { sameOriginRequest } from '../csrf.ts';
import { authenticate } from '../guard.ts';
import { addressKey, SlidingWindow } from '../rate-limit.ts';
import { sessions } from '../sessions.ts';
import { clients, parseRegistration } from './clients.ts';
import { noStoreJson, oauthError, preflight } from './http.ts';
import type { OAuthIssuer } from './issuer.ts';

// An app registers once per server it connects to; even someone re-running a
// client under development stays far below this.
const REGISTRATIONS_PER_ADDRESS = 60;
const REGISTRATION_WINDOW_MS = 60 * 60 * 1000;
const ADMIN_SCOPE = 'parachute:host:admin';

/**
 * Who registers: an admin (the operator token, or an admin's own page on
 * the hub's origin), whose apps are approved at once, as upstream's are
 * (surface registers its hosted UIs with the operator token); anyone else,
 * whose apps stay `pending`; or an error answer for a bearer token that
 * does not prove an admin, which its sender meant to count.
 */
async function registrar(ctx: AuthContext, request: Request): Promise<boolean | Response> {
  if (/^bearer /i.test(request.headers.get('authorization') ?? '')) {
    const check = await authenticate(ctx, request, ADMIN_SCOPE);
    if (check.ok) return true;
    // RFC 7591 section 3.2.2 / RFC 6750: a bad initial access token.
    return oauthError(
      check.status,
      check.status === 401 ? 'invalid_token' : 'insufficient_scope',
      `${check.body.error_description} Register without a token to be approved by an admin later.`,
    );
  }
  // A browser's session counts only from the hub's own pages: the cookie
  // also rides along on a cross-site form post and on a module's page under
  // the apps domain (same-site), and neither may get an app trusted.
  const token = readCookie(request, SESSION_COOKIE, ctx.secureCookies);
  const found = token ? sessions.find(ctx.db, token) : null;
  return found?.user.role === 'admin' && sameOriginRequest(request, ctx);
}

/**
 * POST /oauth/register: dynamic client registration (RFC 7591) for public
 * clients, answered with the app's `status`. A new client is `pending`
 * until a user approves it on the consent page or an admin does in the SPA
 * (auth.md section 4), unless an admin registered it. DELETE
 * /oauth/clients/<client_id>: an admin removes an app and everything it holds.
 */
export function registerRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  const registrations = new SlidingWindow(REGISTRATION_WINDOW_MS);
  return new Elysia({ name: 'oauth.register' })
    .options('/oauth/register', preflight)
    .post('/oauth/register', async ({ request }) => {
      const trusted = await registrar(oauth.auth, request);
      if (trusted instanceof Response) return trusted;
      const address = addressKey(clientIpOf(request));
      // Admins are not strangers flooding the table: only anonymous registrations count.
      const wait = trusted ? 0 : registrations.wait(address, REGISTRATIONS_PER_ADDRESS);
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
      let client: ReturnType<typeof clients.create>;
      if (trusted) {
        client =
          clients.reuseApproved(db, parsed.metadata) ??
          clients.create(db, parsed.metadata, 'approved');
      } else {
        // At the cap the oldest unapproved registration gives way: a flood of
        // registrations (capped per address above) can never lock new apps out.
        clients.makeRoomForPending(db);
        client = clients.create(db, parsed.metadata);
        registrations.record(address);
      }
      audit(oauth.auth, request, null, {
        action: 'app.register',
        target: client.client_id,
        outcome: 'success',
        detail: { name: client.client_name, status: client.status },
      });
      return noStoreJson(201, {
        ...parsed.metadata,
        client_id: client.client_id,
        client_id_issued_at: Math.floor(client.created_at / 1000),
        status: client.status,
      });
    })
    .delete('/oauth/clients/:id', async ({ request, params }) => {
      const check = await authenticate(oauth.auth, request, ADMIN_SCOPE);
      if (!check.ok) {
        const challenge: Record<string, string> =
          check.status === 401 ? { 'www-authenticate': 'Bearer realm="parachute"' } : {};
        return noStoreJson(check.status, check.body, challenge);
      }
      const client = clients.byId(db, params.id);
      if (!client) {
        return noStoreJson(404, {
          error: 'not_found',
          error_description: `No app with client_id ${params.id}.`,
        });
      }
      clients.delete(db, client.client_id);
      audit(oauth.auth, request, check.principal, {
        action: 'app.delete',
        target: client.client_id,
        outcome: 'success',
      });
      return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
    });
}
