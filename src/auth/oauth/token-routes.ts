import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { decodeJwt, type JWTPayload } from 'jose';
import { revokeJti, verifyToken } from '../jwt.ts';
import { users } from '../users.ts';
import { type Client, clients } from './clients.ts';
import { grants, scopeList } from './grants.ts';
import { noStoreJson, oauthError, preflight } from './http.ts';
import { canonicalResource, isProblem, type OAuthIssuer } from './issuer.ts';
import {
  codes,
  families,
  GrantError,
  issueTokens,
  newRefreshToken,
  revokeRefreshToken,
  useRefreshToken,
} from './tokens.ts';

type Params = Record<string, string | undefined>;

/**
 * POST /oauth/token (authorization_code with PKCE, refresh_token with
 * rotation) and POST /oauth/revoke (RFC 7009). Clients are public: they
 * identify themselves with client_id and prove possession with PKCE.
 * Token answers also say where the granted modules answer (`services`,
 * `vault`), as upstream's do; clients such as notes-ui rely on it.
 */
export function tokenRoutes(oauth: OAuthIssuer) {
  const db = oauth.auth.db;
  return new Elysia({ name: 'oauth.token' })
    .options('/oauth/token', preflight)
    .options('/oauth/revoke', preflight)
    .post(
      '/oauth/token',
      async ({ request }) => {
        const call = await readCall(db, request);
        if (call instanceof Response) return call;
        const { params, client } = call;
        try {
          if (params.grant_type === 'authorization_code') {
            return await exchangeCode(oauth, client, params);
          }
          if (params.grant_type === 'refresh_token') return await refresh(oauth, client, params);
        } catch (error) {
          if (error instanceof GrantError) return oauthError(400, error.code, error.description);
          throw error;
        }
        return oauthError(
          400,
          params.grant_type ? 'unsupported_grant_type' : 'invalid_request',
          params.grant_type
            ? `grant_type ${params.grant_type} is not supported; use authorization_code or refresh_token`
            : 'grant_type is required',
        );
      },
      { parse: 'none' },
    )
    .post(
      '/oauth/revoke',
      async ({ request }) => {
        const call = await readCall(db, request);
        if (call instanceof Response) return call;
        const { params, client } = call;
        if (!params.token) return oauthError(400, 'invalid_request', 'token is required');
        // RFC 7009 section 2.2: unknown, expired or foreign tokens still get 200.
        // The hint only orders the search (section 2.1): a refresh token sent
        // as `access_token` must still end its family, so both kinds are tried.
        if (revokeRefreshToken(db, params.token, client.client_id)) return noStoreJson(200, {});
        await revokeAccessToken(oauth, params.token, client.client_id);
        return noStoreJson(200, {});
      },
      { parse: 'none' },
    );
}

async function exchangeCode(oauth: OAuthIssuer, client: Client, params: Params) {
  const db = oauth.auth.db;
  if (!params.code) throw new GrantError('invalid_request', 'code is required');
  if (!params.code_verifier)
    throw new GrantError('invalid_request', 'code_verifier is required (PKCE)');
  const auth = codes.redeem(db, params.code, {
    clientId: client.client_id,
    // Left out at authorize, the only registered URI was used, and it may be
    // left out here too (RFC 6749 section 4.1.3). No other redirect was
    // possible then; a loopback URI with a port of its own was sent at
    // authorize, does not equal the registered one, and must be sent here.
    redirectUri:
      params.redirect_uri ??
      (client.redirect_uris.length === 1 ? (client.redirect_uris[0] as string) : null),
    codeVerifier: params.code_verifier,
  });
  const asked = params.resource !== undefined ? canonicalResource(params.resource) : undefined;
  if (asked !== undefined && auth.resource !== null && asked !== auth.resource) {
    throw new GrantError(
      'invalid_target',
      `resource must be ${auth.resource}, as at the authorization endpoint`,
    );
  }
  if (params.resource !== undefined && auth.resource === null) {
    // Naming the resource only now (RFC 8707 allows it) narrows the token to it.
    const catalog = oauth.catalog();
    const resolved = oauth.resolveResource(catalog, params.resource);
    if (isProblem(resolved)) throw new GrantError('invalid_target', resolved.description);
    const narrowed = oauth.narrowScopes(catalog, scopeList(auth.scope), resolved, null);
    if (isProblem(narrowed) || narrowed.scopes.length === 0) {
      throw new GrantError(
        'invalid_target',
        `none of the granted scopes (${auth.scope}) belongs to ${resolved.url}`,
      );
    }
    auth.scope = narrowed.scopes.join(' ');
    auth.resource = resolved.url;
    auth.audience = oauth.audience(catalog, narrowed.scopes, resolved.url);
  }
  if (!grants.byId(db, auth.grantId)) {
    throw new GrantError('invalid_grant', 'The user revoked this app while it was connecting.');
  }
  const family = families.start(db, auth);
  auth.markUsed(family.id);
  clients.touch(db, client.client_id);
  const refreshToken = newRefreshToken(db, family.id);
  const tokens = await issueTokens(
    db,
    oauth.auth.keys,
    oauth.issuer,
    family,
    auth.scope,
    refreshToken,
  );
  return noStoreJson(200, { ...tokens, ...oauth.servicesFor(auth.scope) });
}

async function refresh(oauth: OAuthIssuer, client: Client, params: Params) {
  const db = oauth.auth.db;
  if (!params.refresh_token) throw new GrantError('invalid_request', 'refresh_token is required');
  const { family, refreshToken } = useRefreshToken(db, params.refresh_token, client.client_id);
  const user = users.byId(db, family.user_id);
  if (!user || family.created_at < user.tokens_valid_after) {
    families.revoke(db, family.id);
    throw new GrantError('invalid_grant', "The user's tokens were revoked; authorize again.");
  }
  if (params.resource !== undefined && canonicalResource(params.resource) !== family.resource) {
    throw new GrantError(
      'invalid_target',
      family.resource
        ? `resource must be ${family.resource}, as when the app was authorized`
        : 'This token was issued without a resource; leave resource out',
    );
  }
  let scope = family.scope;
  if (params.scope !== undefined) {
    const held = new Set(scopeList(family.scope));
    const asked = scopeList(params.scope);
    const extra = asked.find((s) => !held.has(s));
    if (extra)
      throw new GrantError(
        'invalid_scope',
        `${extra} was not granted; authorize again to ask for it`,
      );
    if (asked.length > 0) scope = asked.join(' ');
  }
  clients.touch(db, client.client_id);
  const tokens = await issueTokens(db, oauth.auth.keys, oauth.issuer, family, scope, refreshToken);
  return noStoreJson(200, { ...tokens, ...oauth.servicesFor(scope) });
}

/** An access token this hub signed for this client joins the revocation list. */
async function revokeAccessToken(oauth: OAuthIssuer, token: string, clientId: string) {
  let claims: JWTPayload & { client_id?: unknown };
  try {
    // Any audience: the signature and issuer prove the hub minted it.
    const aud = decodeJwt(token).aud;
    if (!aud) return;
    claims = await verifyToken(oauth.auth.keys, oauth.auth.db, token, {
      issuers: oauth.auth.origins,
      audience: aud,
    });
  } catch {
    return; // not ours, expired or already revoked: nothing to do
  }
  if (claims.client_id === clientId && claims.jti && claims.exp) {
    revokeJti(oauth.auth.db, claims.jti, claims.exp);
  }
}

/**
 * The calling client: client_id in the body (public clients), or in HTTP
 * Basic with an empty secret, as some libraries send it. `invalid_client`
 * only when registering again would help (auth.md section 3).
 */
function identify(db: Database, params: Params, request: Request): Client | Response {
  let clientId = params.client_id;
  const basic = request.headers.get('authorization');
  const scheme = basic?.toLowerCase().startsWith('basic ') ? 'Basic' : 'Bearer';
  if (!clientId && basic && scheme === 'Basic') {
    const decoded = Buffer.from(basic.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    try {
      clientId = decodeURIComponent(colon === -1 ? decoded : decoded.slice(0, colon));
    } catch {
      clientId = undefined;
    }
  }
  if (!clientId) return oauthError(401, 'invalid_client', 'client_id is required.', scheme);
  const client = clients.byId(db, clientId);
  if (!client) {
    return oauthError(
      401,
      'invalid_client',
      'This client is not registered here (or was deleted); register again.',
      scheme,
    );
  }
  if (client.status === 'denied') {
    return oauthError(400, 'unauthorized_client', 'An admin of this hub denied this app.');
  }
  return client;
}

/** The body as string fields (form-encoded per RFC 6749; JSON is accepted too). */
/** The body's parameters and the client sending them, or the error answer. */
async function readCall(
  db: Database,
  request: Request,
): Promise<{ params: Params; client: Client } | Response> {
  const params = await readParams(request);
  if (params instanceof Response) return params;
  const client = identify(db, params, request);
  return client instanceof Response ? client : { params, client };
}

/**
 * The body's parameters: form-encoded as RFC 6749 says, or a JSON object,
 * which some clients send. Read here, not by the framework, so that a
 * malformed body or a repeated parameter (section 3.2) is an RFC 6749 error
 * with this endpoint's headers (no-store, CORS) that a browser client can read.
 */
async function readParams(request: Request): Promise<Params | Response> {
  let entries: [string, unknown][];
  try {
    if ((request.headers.get('content-type') ?? '').includes('application/json')) {
      const body: unknown = await request.json();
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError();
      entries = Object.entries(body);
    } else {
      entries = [...new URLSearchParams(await request.text())];
    }
  } catch {
    return oauthError(
      400,
      'invalid_request',
      'The body must be form-encoded (application/x-www-form-urlencoded) or a JSON object.',
    );
  }
  const params: Params = Object.create(null);
  for (const [key, value] of entries) {
    if (Object.hasOwn(params, key)) {
      return oauthError(400, 'invalid_request', `${key} appears more than once`);
    }
    if (typeof value === 'string') params[key] = value;
  }
  return params;
}
