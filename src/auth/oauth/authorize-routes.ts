import { Elysia } from 'elysia';
import { clientIpOf } from '../../platform/client-ip.ts';
import { escapeHtml } from '../../platform/html.ts';
import { readCookie, SESSION_COOKIE } from '../cookies.ts';
import { sessions } from '../sessions.ts';
import type { User } from '../users.ts';
import type { Client } from './clients.ts';
import { grants, scopeList } from './grants.ts';
import { isProblem, type OAuthIssuer, type ResolvedResource } from './issuer.ts';
import type { PendingAuthorization } from './pending.ts';
import { isLoopbackRedirect, matchRedirectUri } from './redirects.ts';
import { codes } from './tokens.ts';

// Parameters that must appear at most once (RFC 6749 section 3.1).
const SINGLE_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'resource',
];

/**
 * GET /oauth/authorize (OAuth 2.1 with PKCE S256) and the consent API the
 * SPA's consent page uses (auth.md section 4). Every check that can fail
 * runs before a code exists; errors go back to the client's redirect URI
 * with `iss` (RFC 9207) once that URI is known to be the client's.
 */
export function authorizeRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  return new Elysia({ name: 'oauth.authorize' }).get('/oauth/authorize', async ({ request }) => {
    const url = new URL(request.url);
    const q = url.searchParams;
    const found = await oauth.client(q.get('client_id') ?? '', clientIpOf(request));
    if ('problem' in found) {
      return errorPage('This app cannot connect to this hub', found.problem);
    }
    const client = found;
    const redirectUri = chooseRedirect(client, q.get('redirect_uri'));
    if (!redirectUri) {
      return errorPage(
        'The app asked to send you somewhere it did not register',
        `The redirect_uri ${q.get('redirect_uri') ?? '(missing)'} is not one of ${client.client_name ?? 'this app'}'s registered addresses, so the hub will not send you there.`,
      );
    }
    const state = q.get('state');
    const user = signedInUser(oauth, request);
    const back = (params: Record<string, string>) =>
      callback(redirectUri, { ...params, ...(state !== null ? { state } : {}), iss: oauth.issuer });
    // Anyone can register a client, so an error would make the hub an open
    // redirector to any https address (RFC 9700 section 4.11.2). Errors go
    // back on their own only to an app a user or admin approved, or to the
    // user's own machine; otherwise the hub shows them and the person chooses.
    // A user's own grant trusts the app for that user only (auth.md section 4).
    const ownGrant = user ? grants.find(db, user.id, client.client_id) : null;
    const trusted =
      client.status === 'approved' || ownGrant !== null || isLoopbackRedirect(redirectUri);
    const fail = (error: string, description: string) => {
      const params = { error, error_description: description };
      if (trusted) return back(params);
      return errorPage(
        `${client.client_name ?? 'This app'} cannot connect`,
        `${description} (${error})`,
        {
          href: callbackUrl(redirectUri, {
            ...params,
            ...(state !== null ? { state } : {}),
            iss: oauth.issuer,
          }),
          label: `Return to ${new URL(redirectUri).host}`,
        },
      );
    };

    const repeated = SINGLE_PARAMS.find((p) => q.getAll(p).length > 1);
    if (repeated) return fail('invalid_request', `${repeated} appears more than once`);
    const responseType = q.get('response_type');
    // Missing is a malformed request; present but not `code` is unsupported (RFC 6749 4.1.2.1).
    if (responseType === null) return fail('invalid_request', 'response_type=code is required');
    if (responseType !== 'code') {
      return fail('unsupported_response_type', 'response_type must be code');
    }
    const challenge = q.get('code_challenge');
    if (!challenge) return fail('invalid_request', 'code_challenge is required (PKCE with S256)');
    if (q.get('code_challenge_method') !== 'S256') {
      return fail('invalid_request', 'code_challenge_method must be S256');
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
    }
    if (client.status === 'denied') {
      return fail('access_denied', 'An admin of this hub denied this app.');
    }
    const catalog = oauth.catalog();
    let resource: ResolvedResource | null = null;
    const rawResource = q.get('resource');
    if (rawResource !== null) {
      const resolved = oauth.resolveResource(catalog, rawResource);
      if (isProblem(resolved)) return fail(resolved.error, resolved.description);
      resource = resolved;
    }
    const checked = oauth.narrowScopes(catalog, scopeList(q.get('scope') ?? ''), resource, user);
    if (isProblem(checked)) return fail(checked.error, checked.description);

    const prompt = q.get('prompt');
    if (!user) {
      if (prompt === 'none') return fail('login_required', 'Nobody is signed in to the hub.');
      // Back here after signing in, with the session this time.
      return redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`);
    }
    const request_ = {
      userId: user.id,
      clientId: client.client_id,
      redirectUri,
      state,
      codeChallenge: challenge,
      scopes: checked.scopes,
      vaultVerbs: checked.vaultVerbs,
      dropped: checked.dropped,
      resource: resource?.url ?? null,
    };
    const skipConsent =
      checked.vaultVerbs.length === 0 &&
      prompt !== 'consent' &&
      user.must_change_password === 0 &&
      grants.covers(ownGrant, checked.scopes);
    if (skipConsent && ownGrant) {
      return back({ code: issueCode(oauth, request_, ownGrant.id, checked.scopes) });
    }
    if (prompt === 'none') {
      return fail('consent_required', 'The user has not approved this app for these scopes.');
    }
    const pending = oauth.pending.add(request_);
    return redirect(`/admin/consent?request=${encodeURIComponent(pending.id)}`);
  });
}

/** Issues the authorization code for an approved request. */
export function issueCode(
  oauth: OAuthIssuer,
  request: Pick<
    PendingAuthorization,
    'userId' | 'clientId' | 'redirectUri' | 'codeChallenge' | 'resource'
  >,
  grantId: string,
  scopes: string[],
): string {
  const catalog = oauth.catalog();
  return codes.issue(
    oauth.auth.db,
    {
      clientId: request.clientId,
      userId: request.userId,
      grantId,
      scope: scopes.join(' '),
      resource: request.resource,
      audience: oauth.audience(catalog, scopes, request.resource),
    },
    { redirectUri: request.redirectUri, codeChallenge: request.codeChallenge },
  );
}

/** The redirect URI to use: the one asked for if registered, else the only one registered. */
function chooseRedirect(client: Client, requested: string | null): string | null {
  if (requested === null) {
    return client.redirect_uris.length === 1 ? (client.redirect_uris[0] as string) : null;
  }
  return matchRedirectUri(client.redirect_uris, requested) ? requested : null;
}

function signedInUser(oauth: OAuthIssuer, request: Request): User | null {
  const token = readCookie(request, SESSION_COOKIE, oauth.auth.secureCookies);
  return token ? (sessions.find(oauth.auth.db, token)?.user ?? null) : null;
}

/** The client's redirect URI with `params` added to its query. */
export function callbackUrl(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

function callback(redirectUri: string, params: Record<string, string>): Response {
  return redirect(callbackUrl(redirectUri, params));
}

function redirect(location: string): Response {
  return new Response(null, {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  });
}

/**
 * Errors the hub shows instead of sending the browser back: the redirect URI
 * is unknown, or belongs to an app nobody has approved (then `back` offers
 * the way back as a link the person follows or not).
 */
function errorPage(
  title: string,
  message: string,
  back?: { href: string; label: string },
): Response {
  const link = back
    ? `<p><a href="${escapeHtml(back.href)}" rel="noreferrer">${escapeHtml(back.label)}</a></p>`
    : '';
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><body style="font-family:system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${link}</body></html>`;
  return new Response(html, {
    status: 400,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
    },
  });
}
