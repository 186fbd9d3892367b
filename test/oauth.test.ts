// The OAuth 2.1 issuer end to end with a real client library (oauth4webapi):
// discovery → registration → authorize (a signed-in user approves) → token
// → refresh → revoke, and every way a client can get it wrong.
import { beforeAll, describe, expect, test } from 'bun:test';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { packFixture, unusedPort } from './helpers/fixtures.ts';
import { hubWithOperator, install, type OperatorCall, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let call: OperatorCall;
let admin: ApiClient;
let as: oauth.AuthorizationServer;
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const none = oauth.None();
const REDIRECT = 'http://127.0.0.1:4711/callback';

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  call = started.call;
  const good = await packFixture('good');
  expect((await install(call, { package: good })).state).toBe('succeeded');
  // The same server mounted as two vaults, with the scopes a vault module defines.
  const vault = {
    name: 'vault',
    manifestName: 'parachute-vault',
    port: unusedPort(),
    paths: ['/vault/default', '/vault/work'],
    health: '/health',
    startCmd: ['fixture-good'],
    stripPrefix: true,
    scopes: { defines: ['vault:read', 'vault:write', 'vault:admin'] },
  };
  const vaultPkg = await packFixture('good');
  expect((await install(call, { package: vaultPkg, manifest: vault })).state).toBe('succeeded');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const issuer = new URL(url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
}, 90_000);

async function register(metadata: Record<string, unknown> = {}): Promise<oauth.Client> {
  const res = await oauth.dynamicClientRegistrationRequest(
    as,
    { redirect_uris: [REDIRECT], client_name: 'Test client', ...metadata },
    insecure,
  );
  return (await oauth.processDynamicClientRegistrationResponse(res)) as oauth.Client;
}

interface AuthorizeOptions {
  scope?: string;
  resource?: string;
  /** null: leave redirect_uri out (allowed when the client registered only one). */
  redirectUri?: string | null;
  prompt?: string;
  vaults?: string[];
  decision?: 'approve' | 'deny';
  user?: ApiClient;
}

/**
 * Plays the person's browser: opens the authorize URL with the session
 * cookie and, if the hub asks, answers the consent page through its API.
 * Returns where the hub finally sends the browser.
 */
async function authorize(client: oauth.Client, verifier: string, options: AuthorizeOptions = {}) {
  const target = new URL(as.authorization_endpoint as string);
  target.searchParams.set('client_id', client.client_id);
  if (options.redirectUri !== null) {
    target.searchParams.set('redirect_uri', options.redirectUri ?? REDIRECT);
  }
  target.searchParams.set('response_type', 'code');
  target.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  target.searchParams.set('code_challenge_method', 'S256');
  target.searchParams.set('state', 'st-1');
  if (options.scope !== undefined) target.searchParams.set('scope', options.scope);
  if (options.resource) target.searchParams.set('resource', options.resource);
  if (options.prompt) target.searchParams.set('prompt', options.prompt);
  const browser = options.user ?? admin;
  const res = await browser.get(target.pathname + target.search);
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) return { status: res.status, page: res.text };
  if (!location.startsWith('/admin/consent?request=')) return { location: new URL(location) };
  const id = new URL(location, url).searchParams.get('request') as string;
  const shown = await browser.get(`/api/oauth/requests/${id}`);
  expect(shown.status).toBe(200);
  const answer = await browser.post(`/api/oauth/requests/${id}`, {
    decision: options.decision ?? 'approve',
    ...(options.vaults ? { vaults: options.vaults } : {}),
  });
  expect(answer.status).toBe(200);
  return { location: new URL(answer.json.redirect as string), consent: shown.json };
}

/** Request options with an RFC 8707 `resource`, when one is given. */
function withResource(resource?: string) {
  return { ...insecure, ...(resource ? { additionalParameters: { resource } } : {}) };
}

/** Exchanges an authorization code; rejects with the library's error on refusal. */
async function exchangeCode(
  client: oauth.Client,
  params: URLSearchParams,
  verifier: string,
  options: { redirectUri?: string; resource?: string } = {},
) {
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    none,
    params,
    options.redirectUri ?? REDIRECT,
    verifier,
    withResource(options.resource),
  );
  return oauth.processAuthorizationCodeResponse(as, client, res);
}

/** Uses a refresh token; rejects with the library's error on refusal. */
async function refreshWith(client: oauth.Client, token: string | undefined, resource?: string) {
  const res = await oauth.refreshTokenGrantRequest(
    as,
    client,
    none,
    token as string,
    withResource(resource),
  );
  return oauth.processRefreshTokenResponse(as, client, res);
}

/** Authorizes and exchanges the code: the whole happy path. */
async function tokensFor(client: oauth.Client, options: AuthorizeOptions = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const { location } = await authorize(client, verifier, options);
  if (!location) throw new Error('no redirect');
  const params = oauth.validateAuthResponse(as, client, location, 'st-1');
  return exchangeCode(client, params, verifier, {
    resource: options.resource,
    redirectUri: options.redirectUri ?? undefined,
  });
}

/** A non-admin user who has set their own password, signed in. */
async function newUser(username: string) {
  const created = await admin.post('/api/users', { username, role: 'user' });
  const browser = new ApiClient(url);
  await browser.login(username, created.json.temporary_password as string);
  await browser.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: 'another long passphrase',
  });
  return { id: (created.json.user as { id: string }).id, browser };
}

async function verifyAccess(token: string, audience: string) {
  const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  return (
    await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: url,
      audience,
      algorithms: ['RS256'],
    })
  ).payload;
}

async function revokedJtis(): Promise<string[]> {
  return (
    (await (await fetch(`${url}/.well-known/parachute-revocation.json`)).json()) as {
      jtis: string[];
    }
  ).jtis;
}

/** A raw form-encoded POST, for what oauth4webapi will not send. */
async function postForm(path: string, params: Record<string, string>) {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, string>,
  };
}

/** The RFC 6749 error code a failing oauth4webapi call reports. */
async function oauthErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return error.error;
    if (error instanceof oauth.AuthorizationResponseError) return error.error;
    throw error;
  }
  throw new Error('expected an OAuth error');
}

describe('discovery', () => {
  test('authorization server metadata, also at the OpenID path', async () => {
    expect(as.issuer).toBe(url);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.response_types_supported).toEqual(['code']);
    expect(as.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
    expect(as.token_endpoint_auth_methods_supported).toEqual(['none']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.revocation_endpoint).toBe(`${url}/oauth/revoke`);
    expect(as.registration_endpoint).toBe(`${url}/oauth/register`);
    expect(as.scopes_supported).toEqual(
      expect.arrayContaining(['fx-good:read', 'vault:default:read', 'vault:work:write']),
    );
    for (const scope of as.scopes_supported ?? []) {
      expect(scope).not.toMatch(/^(parachute:host:|hub:admin)|:admin$/);
    }
    const oidc = await fetch(`${url}/.well-known/openid-configuration`);
    expect(await oidc.json()).toEqual(
      await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json(),
    );
    expect(oidc.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('protected-resource metadata for the hub and, path-inserted, for each mount', async () => {
    const root = await (await fetch(`${url}/.well-known/oauth-protected-resource`)).json();
    expect(root).toMatchObject({ resource: url, authorization_servers: [url] });
    const good = await (await fetch(`${url}/.well-known/oauth-protected-resource/fx-good`)).json();
    expect(good).toMatchObject({
      resource: `${url}/fx-good`,
      authorization_servers: [url],
      scopes_supported: ['fx-good:read'],
      bearer_methods_supported: ['header'],
    });
    const vault = await (
      await fetch(`${url}/.well-known/oauth-protected-resource/vault/work`)
    ).json();
    expect(vault.resource).toBe(`${url}/vault/work`);
    expect(vault.scopes_supported).toEqual(['vault:work:read', 'vault:work:write']);
    const missing = await fetch(`${url}/.well-known/oauth-protected-resource/nothing-here`);
    expect(missing.status).toBe(404);
  });
});

describe('registration', () => {
  test('refuses script, file and data schemes, fragments, userinfo and http off loopback, naming the URI', async () => {
    for (const uri of [
      'http://example.com/cb',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'https://example.com/cb#frag',
      'myapp://callback#frag',
      'https://user:pw@example.com/cb',
    ]) {
      // One bad URI among good ones rejects the whole registration.
      const res = await fetch(`${url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://good.example/cb', uri] }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_redirect_uri');
      expect(body.error_description).toContain(uri);
    }
  });

  test('malformed registrations get RFC 7591 errors that name the problem', async () => {
    for (const [body, error, words] of [
      ['{not json', 'invalid_client_metadata', 'JSON object'],
      ['[]', 'invalid_client_metadata', 'JSON object'],
      ['{"redirect_uris":"https://a.example/cb"}', 'invalid_redirect_uri', 'list of 1 to 20 URLs'],
      [
        '{"redirect_uris":["https://a.example/cb"],"client_name":7}',
        'invalid_client_metadata',
        'client_name',
      ],
      [
        '{"redirect_uris":["https://a.example/cb"],"grant_types":["password"]}',
        'invalid_client_metadata',
        'password',
      ],
    ] as const) {
      const res = await fetch(`${url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      const answer = await res.json();
      expect(answer.error).toBe(error);
      expect(answer.error_description).toContain(words);
    }
  });

  test('a registration is bounded in size, so open registration cannot fill the disk', async () => {
    const res = await fetch(`${url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], padding: 'x'.repeat(200_000) }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  test('registers a public client, pending until approved', async () => {
    const client = await register({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(client.client_id).toMatch(/^client_/);
    expect(client.token_endpoint_auth_method).toBe('none');
    expect(client.client_secret).toBeUndefined();
    const listed = (await admin.get('/api/oauth/clients')).json.clients as Record<
      string,
      unknown
    >[];
    expect(listed.find((c) => c.client_id === client.client_id)?.status).toBe('pending');
  });
});

describe('registration limits', () => {
  test('one address registers at most 60 apps an hour; the next gets 429 with Retry-After', async () => {
    // A hub of its own: the limit would otherwise refuse this file's other registrations.
    const { hub, url: own } = await freshHub();
    hubs.push(hub);
    const registerAt = () =>
      fetch(`${own}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT] }),
      });
    for (let i = 0; i < 60; i++) expect((await registerAt()).status).toBe(201);
    const refused = await registerAt();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(((await refused.json()) as { error: string }).error).toBe('temporarily_unavailable');
  });
});

describe('authorization code flow', () => {
  test('discovery → register → consent → token → refresh → revoke', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const resource = `${url}/fx-good`;
    const first = await authorize(client, verifier, { scope: 'fx-good:read', resource });
    // The consent page shows the app, where it sends the user, and the scope in words.
    expect(first.consent).toMatchObject({
      client: { client_name: 'Test client', redirect_host: '127.0.0.1:4711', status: 'pending' },
      scopes: [{ scope: 'fx-good:read', module: 'fx-good' }],
      vault_choice: null,
    });
    expect(first.location?.searchParams.get('iss')).toBe(url);
    const params = oauth.validateAuthResponse(as, client, first.location as URL, 'st-1');
    const tokenRes = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      none,
      params,
      REDIRECT,
      verifier,
      { ...insecure, additionalParameters: { resource } },
    );
    expect(tokenRes.headers.get('cache-control')).toBe('no-store');
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenRes);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.scope).toBe('fx-good:read');
    const claims = await verifyAccess(tokens.access_token, 'fx-good');
    expect(claims.aud).toEqual(['fx-good', resource]);
    expect(claims.client_id).toBe(client.client_id);
    expect(claims.scope).toBe('fx-good:read');
    expect(claims.exp).toBe((claims.iat as number) + 900);

    // Approved once: the next authorization within the grant skips the consent page.
    const again = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
      resource,
    });
    expect(again.consent).toBeUndefined();
    expect(again.location?.searchParams.get('code')).toBeTruthy();
    // ...unless the client asks for it.
    const forced = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
      prompt: 'consent',
    });
    expect(forced.consent).toBeDefined();

    const refreshed = await refreshWith(client, tokens.refresh_token, resource);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await verifyAccess(refreshed.access_token, 'fx-good')).jti).not.toBe(claims.jti);

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, none, refreshed.access_token, insecure),
    );
    expect(await revokedJtis()).toContain(decodeJwt(refreshed.access_token).jti as string);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, none, refreshed.refresh_token as string, insecure),
    );
    expect(await oauthErrorOf(refreshWith(client, refreshed.refresh_token))).toBe('invalid_grant');
  });

  test('loopback redirects match with any port; others exactly', async () => {
    const client = await register({ redirect_uris: ['http://127.0.0.1/callback'] });
    const tokens = await tokensFor(client, {
      scope: 'fx-good:read',
      redirectUri: 'http://127.0.0.1:53111/callback',
    });
    expect(tokens.access_token).toBeTruthy();
    const wrongPath = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
      redirectUri: 'http://127.0.0.1:53111/elsewhere',
    });
    expect(wrongPath.status).toBe(400);
    expect(wrongPath.page).toContain('did not register');
    const https = await register({ redirect_uris: ['https://app.example/cb'] });
    const otherHost = await authorize(https, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
      redirectUri: 'https://app.example:8443/cb',
    });
    expect(otherHost.status).toBe(400);
  });

  test('redirect_uri left out at authorize may be left out at token (RFC 6749 section 4.1.3)', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const { location } = await authorize(client, verifier, {
      scope: 'fx-good:read',
      redirectUri: null,
    });
    expect(`${location?.origin}${location?.pathname}`).toBe(REDIRECT);
    const res = await postForm('/oauth/token', {
      grant_type: 'authorization_code',
      client_id: client.client_id,
      code: location?.searchParams.get('code') as string,
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    expect(res.json.access_token).toBeTruthy();
    // Sent at authorize (a loopback port of its own), it is required at token.
    const loopback = await register({ redirect_uris: ['http://127.0.0.1/callback'] });
    const sent = await authorize(loopback, verifier, {
      scope: 'fx-good:read',
      redirectUri: 'http://127.0.0.1:53112/callback',
    });
    const missing = await postForm('/oauth/token', {
      grant_type: 'authorization_code',
      client_id: loopback.client_id,
      code: sent.location?.searchParams.get('code') as string,
      code_verifier: verifier,
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe('invalid_grant');
  });

  test('a malformed body or a repeated parameter is invalid_request a browser client can read', async () => {
    const client = await register();
    const cases: [string, string, string][] = [
      ['/oauth/token', 'application/json', '{"grant_type": "refresh_token",'],
      ['/oauth/token', 'application/json', '["grant_type"]'],
      [
        '/oauth/token',
        'application/x-www-form-urlencoded',
        `grant_type=refresh_token&refresh_token=a&client_id=${client.client_id}&client_id=other`,
      ],
      ['/oauth/revoke', 'application/json', 'not json'],
    ];
    for (const [path, type, body] of cases) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
    // A JSON object is still accepted, as some clients send one.
    const json = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', client_id: client.client_id }),
    });
    expect(((await json.json()) as { error: string }).error).toBe('unsupported_grant_type');
    expect(json.status).toBe(400);
  });

  test('revoking a refresh token works whatever token_type_hint says (RFC 7009 section 2.1)', async () => {
    const client = await register();
    const tokens = await tokensFor(client, { scope: 'fx-good:read' });
    const res = await postForm('/oauth/revoke', {
      client_id: client.client_id,
      token: tokens.refresh_token as string,
      token_type_hint: 'access_token',
    });
    expect(res.status).toBe(200);
    expect(await oauthErrorOf(refreshWith(client, tokens.refresh_token))).toBe('invalid_grant');
    expect(await revokedJtis()).toContain(decodeJwt(tokens.access_token).jti as string);
  });

  test('broad vault scopes are narrowed to the vaults the user picks', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const result = await authorize(client, verifier, { scope: 'vault:read', vaults: ['work'] });
    expect(result.consent?.vault_choice).toEqual({ verbs: ['read'], vaults: ['default', 'work'] });
    const params = oauth.validateAuthResponse(as, client, result.location as URL, 'st-1');
    const tokens = await exchangeCode(client, params, verifier);
    expect(tokens.scope).toBe('vault:work:read');
    const claims = await verifyAccess(tokens.access_token, 'vault.work');
    expect(claims.aud).toBe('vault.work');
    expect(claims.vault_scope).toEqual(['work']);
  });

  test('a denied consent goes back to the app with access_denied and iss', async () => {
    const client = await register();
    const { location } = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
      decision: 'deny',
    });
    expect(location?.searchParams.get('error')).toBe('access_denied');
    expect(location?.searchParams.get('iss')).toBe(url);
    expect(location?.searchParams.get('state')).toBe('st-1');
    expect(location?.searchParams.get('code')).toBeNull();
  });
});

describe('scopes are narrowed, not refused (auth.md section 4)', () => {
  // What the MCP SDK sends for an existing vault: its own scopes_supported, verbatim.
  const COPIED = 'vault:read vault:write vault:admin full read';

  test('a vault’s copied scopes become that vault’s, and the consent page says what is left out', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const resource = `${url}/vault/work/mcp`;
    const result = await authorize(client, verifier, { scope: COPIED, resource });
    const shown = result.consent as {
      scopes: { scope: string }[];
      not_granted: { scope: string; reason: string }[];
      vault_choice: unknown;
    };
    // No picker: the resource already says which vault.
    expect(shown.vault_choice).toBeNull();
    expect(shown.scopes.map((s) => s.scope).sort()).toEqual([
      'vault:work:admin',
      'vault:work:read',
      'vault:work:write',
    ]);
    expect(shown.not_granted.map((d) => d.scope).sort()).toEqual(['full', 'read']);
    const params = oauth.validateAuthResponse(as, client, result.location as URL, 'st-1');
    const tokens = await exchangeCode(client, params, verifier, { resource });
    // The token response says what was issued (RFC 6749 section 3.3)...
    expect(String(tokens.scope).split(' ').sort()).toEqual([
      'vault:work:admin',
      'vault:work:read',
      'vault:work:write',
    ]);
    // ...and the token is for that vault only.
    const claims = await verifyAccess(tokens.access_token, 'vault.work');
    expect(claims.aud).toEqual(['vault.work', resource]);
    expect(claims.vault_scope).toEqual(['work']);
    expect(String(claims.scope)).not.toContain('default');
  });

  test('with two vaults, a resource naming one never yields the other, even when asked by name', async () => {
    const client = await register();
    const resource = `${url}/vault/default`;
    const tokens = await tokensFor(client, {
      scope: 'vault:read vault:work:read fx-good:read',
      resource,
    });
    expect(tokens.scope).toBe('vault:default:read');
    expect((await verifyAccess(tokens.access_token, 'vault.default')).vault_scope).toEqual([
      'default',
    ]);
  });

  test('a trailing slash on the resource names the same resource, at authorize, token and refresh', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const resource = `${url}/fx-good/`;
    const { location } = await authorize(client, verifier, { scope: 'fx-good:read', resource });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    const tokens = await exchangeCode(client, params, verifier, { resource: `${url}/fx-good` });
    expect((await verifyAccess(tokens.access_token, 'fx-good')).aud).toEqual([
      'fx-good',
      `${url}/fx-good`,
    ]);
    const again = await refreshWith(client, tokens.refresh_token, resource);
    expect(again.scope).toBe('fx-good:read');
  });

  test('without a resource, the token still names the module its scopes belong to', async () => {
    const client = await register();
    const tokens = await tokensFor(client, {
      // fx-good defines only fx-good:read.
      scope: 'fx-good:read fx-good:write unknown:thing parachute:host:admin',
    });
    expect(tokens.scope).toBe('fx-good:read');
    expect((await verifyAccess(tokens.access_token, 'fx-good')).aud).toBe('fx-good');
  });

  test('a user never gets admin verbs or unassigned vaults: they are dropped, the rest granted', async () => {
    const user = await newUser('narrowed');
    expect((await admin.put(`/api/users/${user.id}/vaults`, { vaults: ['work'] })).status).toBe(
      200,
    );
    const client = await register();
    const tokens = await tokensFor(client, {
      scope: COPIED,
      resource: `${url}/vault/work/mcp`,
      user: user.browser,
    });
    expect(String(tokens.scope).split(' ').sort()).toEqual(['vault:work:read', 'vault:work:write']);
    // Naming only a vault they do not hold leaves nothing: invalid_scope, no code.
    const none_ = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: COPIED,
      resource: `${url}/vault/default`,
      user: user.browser,
    });
    expect(none_.location?.searchParams.get('error')).toBe('invalid_scope');
    expect(none_.location?.searchParams.get('code')).toBeNull();
  });
});

describe('trust: only an admin’s approval trusts an app hub-wide', () => {
  const SITE = 'https://trust.example/cb';

  test('a user’s approval records their grant only; others still see the first-time warning and get no redirected errors', async () => {
    const alice = await newUser('trust-alice');
    const bob = await newUser('trust-bob');
    const client = await register({ redirect_uris: [SITE], client_name: 'Trust test' });
    const tokens = await tokensFor(client, {
      scope: 'fx-good:read',
      redirectUri: SITE,
      user: alice.browser,
    });
    expect(tokens.access_token).toBeTruthy();
    const listed = await admin.get('/api/oauth/clients');
    const row = (listed.json.clients as { client_id: string; status: string }[]).find(
      (c) => c.client_id === client.client_id,
    );
    expect(row?.status).toBe('pending');

    // Bob is asked as for a new app, with the warning.
    const target = `/oauth/authorize?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(SITE)}&response_type=code&code_challenge=${'f'.repeat(43)}&code_challenge_method=S256&scope=fx-good:read&state=s`;
    const bobs = await bob.browser.get(target);
    const id = new URL(bobs.headers.get('location') as string, url).searchParams.get('request');
    const shown = await bob.browser.get(`/api/oauth/requests/${id}`);
    expect((shown.json.client as { first_time: boolean }).first_time).toBe(true);
    // Alice, within her grant, is not asked again.
    const alices = await alice.browser.get(target);
    expect(new URL(alices.headers.get('location') as string).origin).toBe('https://trust.example');

    // An error for Bob is shown on the hub, not sent to the app's https address.
    const bad = `${target.replace('scope=fx-good:read', 'scope=nothing:read')}`;
    const bobError = await bob.browser.get(bad);
    expect(bobError.status).toBe(400);
    expect(bobError.headers.get('location')).toBeNull();

    // Once the admin approves it, nobody sees the warning.
    expect((await admin.post(`/api/oauth/clients/${client.client_id}/approve`)).status).toBe(200);
    const after = await bob.browser.get(target);
    const id2 = new URL(after.headers.get('location') as string, url).searchParams.get('request');
    const shown2 = await bob.browser.get(`/api/oauth/requests/${id2}`);
    expect((shown2.json.client as { first_time: boolean }).first_time).toBe(false);
  });
});

describe('refusals', () => {
  test('when nothing grantable is left (unknown, hub-only, other-resource scopes), no code is issued', async () => {
    const client = await register();
    for (const [scope, resource, error] of [
      ['nothing:read', undefined, 'invalid_scope'],
      ['parachute:host:admin', undefined, 'invalid_scope'],
      ['hub:admin', undefined, 'invalid_scope'],
      ['parachute:host:admin hub:admin nothing:read', undefined, 'invalid_scope'],
      // Nothing asked for belongs to the resource named: nothing grantable is left.
      ['vault:default:read', `${url}/fx-good`, 'invalid_scope'],
      ['fx-good:read', 'https://elsewhere.example/fx-good', 'invalid_target'],
      ['fx-good:read', `${url}/not-mounted`, 'invalid_target'],
    ] as const) {
      const { location } = await authorize(client, oauth.generateRandomCodeVerifier(), {
        scope,
        resource,
      });
      expect(location?.searchParams.get('error')).toBe(error);
      expect(location?.searchParams.get('code')).toBeNull();
      expect(location?.searchParams.get('iss')).toBe(url);
    }
  });

  test('errors for an app nobody approved are shown, not redirected to its https address', async () => {
    // Anyone can register; the hub must not bounce browsers to any address (RFC 9700 4.11.2).
    const site = 'https://app.example/cb';
    const client = await register({ redirect_uris: [site] });
    const verifier = oauth.generateRandomCodeVerifier();
    const shown = await authorize(client, verifier, { scope: 'nothing:read', redirectUri: site });
    expect(shown.status).toBe(400);
    expect(shown.location).toBeUndefined();
    expect(shown.page).toContain('Return to app.example');
    const back = new URL(
      (/href="([^"]+)"/.exec(shown.page ?? '')?.[1] ?? '').replace(/&#(\d+);/g, (_, c) =>
        String.fromCharCode(Number(c)),
      ),
    );
    expect(back.origin + back.pathname).toBe(site);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(back.searchParams.get('iss')).toBe(url);

    // Once an admin approves the app, its errors go back to it as usual.
    expect((await call('POST', `/api/oauth/clients/${client.client_id}/approve`)).status).toBe(200);
    const { location } = await authorize(client, verifier, {
      scope: 'nothing:read',
      redirectUri: site,
    });
    expect(location?.origin).toBe('https://app.example');
    expect(location?.searchParams.get('error')).toBe('invalid_scope');
  });

  test('a missing response_type is invalid_request; an unknown one unsupported_response_type', async () => {
    const client = await register();
    const base = `/oauth/authorize?client_id=${client.client_id}&code_challenge=${'d'.repeat(43)}&code_challenge_method=S256&scope=fx-good:read&state=st-1`;
    for (const [extra, error] of [
      ['', 'invalid_request'],
      ['&response_type=token', 'unsupported_response_type'],
    ] as const) {
      const res = await admin.get(base + extra);
      const location = new URL(res.headers.get('location') as string);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('state')).toBe('st-1');
    }
  });

  test('an unknown client is invalid_client, challenged in the scheme it used (RFC 6749 section 5.2)', async () => {
    const basic = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa('client_unknown:')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }),
    });
    expect(basic.status).toBe(401);
    expect(((await basic.json()) as { error: string }).error).toBe('invalid_client');
    expect(basic.headers.get('www-authenticate')).toStartWith('Basic ');
    const body = await postForm('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: 'x',
      client_id: 'client_unknown',
    });
    expect(body.status).toBe(401);
    expect(body.json.error).toBe('invalid_client');
  });

  test('PKCE: a wrong verifier and a plain challenge are refused', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const { location } = await authorize(client, verifier, { scope: 'fx-good:read' });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    expect(
      await oauthErrorOf(exchangeCode(client, params, oauth.generateRandomCodeVerifier())),
    ).toBe('invalid_grant');
    const plain = await admin.get(
      `/oauth/authorize?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&code_challenge=${'a'.repeat(43)}&code_challenge_method=plain&scope=fx-good:read`,
    );
    expect(new URL(plain.headers.get('location') as string).searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  test('a redirect_uri at the token endpoint must be the one authorized', async () => {
    const client = await register({
      redirect_uris: [REDIRECT, 'http://127.0.0.1:4711/other'],
    });
    const verifier = oauth.generateRandomCodeVerifier();
    const { location } = await authorize(client, verifier, { scope: 'fx-good:read' });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    expect(
      await oauthErrorOf(
        exchangeCode(client, params, verifier, { redirectUri: 'http://127.0.0.1:4711/other' }),
      ),
    ).toBe('invalid_grant');
  });

  test('a replayed code fails and revokes what its first use issued', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const { location } = await authorize(client, verifier, { scope: 'fx-good:read' });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    const tokens = await exchangeCode(client, params, verifier);
    expect(await oauthErrorOf(exchangeCode(client, params, verifier))).toBe('invalid_grant');
    expect(await revokedJtis()).toContain(decodeJwt(tokens.access_token).jti as string);
    expect(await oauthErrorOf(refreshWith(client, tokens.refresh_token))).toBe('invalid_grant');
  });

  test('refresh replay revokes the family; the immediate predecessor has a grace period', async () => {
    const client = await register();
    const first = await tokensFor(client, { scope: 'fx-good:read' });
    const refresh = (token: string | undefined) => refreshWith(client, token);
    const second = await refresh(first.refresh_token);
    // A retry of the same refresh (the answer was lost) still works...
    const retried = await refresh(first.refresh_token);
    const third = await refresh(retried.refresh_token);
    // ...but a token two rotations old is replay: the whole family ends.
    expect(await oauthErrorOf(refresh(first.refresh_token))).toBe('invalid_grant');
    expect(await oauthErrorOf(refresh(third.refresh_token))).toBe('invalid_grant');
    expect(await oauthErrorOf(refresh(second.refresh_token))).toBe('invalid_grant');
    expect(await revokedJtis()).toContain(decodeJwt(third.access_token).jti as string);
  });

  test('a resource other than the authorized one is refused at token and refresh', async () => {
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const resource = `${url}/fx-good`;
    const { location } = await authorize(client, verifier, { scope: 'fx-good:read', resource });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    const wrong = exchangeCode(client, params, verifier, { resource: `${url}/vault/work` });
    expect(await oauthErrorOf(wrong)).toBe('invalid_target');
    const tokens = await tokensFor(client, { scope: 'fx-good:read', resource });
    const refresh = refreshWith(client, tokens.refresh_token, `${url}/vault/default`);
    expect(await oauthErrorOf(refresh)).toBe('invalid_target');
  });

  test('the consent answer needs the CSRF token', async () => {
    const client = await register();
    const target = `/oauth/authorize?client_id=${client.client_id}&response_type=code&code_challenge=${'b'.repeat(43)}&code_challenge_method=S256&scope=fx-good:read`;
    const location = (await admin.get(target)).headers.get('location') as string;
    expect(location).toStartWith('/admin/consent?request=');
    const id = new URL(location, url).searchParams.get('request');
    const forged = await admin.post(
      `/api/oauth/requests/${id}`,
      { decision: 'approve' },
      {
        'x-csrf-token': 'forged',
      },
    );
    expect(forged.status).toBe(403);
    expect(forged.json.error).toBe('csrf_failed');
  });

  test('signed out, authorize sends the browser to sign in and back', async () => {
    const client = await register();
    const target = `/oauth/authorize?client_id=${client.client_id}&response_type=code&code_challenge=${'c'.repeat(43)}&code_challenge_method=S256&scope=fx-good:read`;
    const res = await new ApiClient(url).get(target);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(target)}`);
  });
});

describe('users and admins', () => {
  test('a user grants only the vaults assigned to them, never admin verbs', async () => {
    const created = await admin.post('/api/users', { username: 'reader', role: 'user' });
    const userId = (created.json.user as { id: string }).id;
    const reader = new ApiClient(url);
    await reader.login('reader', created.json.temporary_password as string);
    await reader.post('/api/account/password', {
      current_password: created.json.temporary_password,
      new_password: 'another long passphrase',
    });
    const client = await register();
    const refused = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'vault:work:read',
      user: reader,
    });
    expect(refused.location?.searchParams.get('error')).toBe('invalid_scope');
    expect((await admin.put(`/api/users/${userId}/vaults`, { vaults: ['work'] })).status).toBe(200);
    const tokens = await tokensFor(client, { scope: 'vault:work:read', user: reader });
    expect(decodeJwt(tokens.access_token).sub).toBe(userId);
    const adminVerb = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'vault:work:admin',
      user: reader,
    });
    expect(adminVerb.location?.searchParams.get('error')).toBe('invalid_scope');
    const broad = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'vault:read',
      user: reader,
      vaults: ['work'],
    });
    expect(broad.consent?.vault_choice).toEqual({ verbs: ['read'], vaults: ['work'] });

    // A password reset ends the user's app tokens too, where modules can see it.
    expect((await admin.post(`/api/users/${userId}/reset-password`)).status).toBe(200);
    expect(await revokedJtis()).toContain(decodeJwt(tokens.access_token).jti as string);
    expect(await oauthErrorOf(refreshWith(client, tokens.refresh_token))).toBe('invalid_grant');
  });

  test('unassigning a vault ends the user’s app tokens and codes for it', async () => {
    const user = await newUser('unassigned');
    expect(
      (await admin.put(`/api/users/${user.id}/vaults`, { vaults: ['work', 'default'] })).status,
    ).toBe(200);
    const client = await register();
    const work = await tokensFor(client, { scope: 'vault:work:read', user: user.browser });
    const kept = await tokensFor(client, { scope: 'vault:default:read', user: user.browser });
    const verifier = oauth.generateRandomCodeVerifier();
    const pending = await authorize(client, verifier, {
      scope: 'vault:work:read',
      user: user.browser,
    });
    const params = oauth.validateAuthResponse(as, client, pending.location as URL, 'st-1');
    const open = await user.browser.get(
      `/oauth/authorize?client_id=${client.client_id}&response_type=code&code_challenge=${'e'.repeat(43)}&code_challenge_method=S256&scope=vault:work:read&prompt=consent`,
    );
    const consentPage = new URL(open.headers.get('location') as string, url);
    const requestId = consentPage.searchParams.get('request') as string;

    expect((await admin.put(`/api/users/${user.id}/vaults`, { vaults: ['default'] })).status).toBe(
      200,
    );
    expect(await revokedJtis()).toContain(decodeJwt(work.access_token).jti as string);
    expect(await oauthErrorOf(refreshWith(client, work.refresh_token))).toBe('invalid_grant');
    expect(await oauthErrorOf(exchangeCode(client, params, verifier))).toBe('invalid_grant');
    // A consent page left open is answered with what the user holds now.
    const late = await user.browser.post(`/api/oauth/requests/${requestId}`, {
      decision: 'approve',
    });
    expect(late.status).toBe(400);
    expect(late.json.error).toBe('invalid_scope');
    // Tokens for a vault the user still holds are untouched.
    expect((await refreshWith(client, kept.refresh_token)).access_token).toBeTruthy();
  });

  test('a password reset also voids codes not yet exchanged', async () => {
    const user = await newUser('resetcode');
    const client = await register();
    const verifier = oauth.generateRandomCodeVerifier();
    const { location } = await authorize(client, verifier, {
      scope: 'fx-good:read',
      user: user.browser,
    });
    const params = oauth.validateAuthResponse(as, client, location as URL, 'st-1');
    expect((await admin.post(`/api/users/${user.id}/reset-password`)).status).toBe(200);
    expect(await oauthErrorOf(exchangeCode(client, params, verifier))).toBe('invalid_grant');
  });

  test('denying a client ends its tokens; deleting it ends its registration', async () => {
    const client = await register();
    const tokens = await tokensFor(client, { scope: 'fx-good:read' });
    const denied = await admin.post(`/api/oauth/clients/${client.client_id}/deny`);
    expect(denied.json.client).toMatchObject({ status: 'denied' });
    expect(await revokedJtis()).toContain(decodeJwt(tokens.access_token).jti as string);
    const { location } = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
    });
    expect(location?.searchParams.get('error')).toBe('access_denied');
    expect((await admin.delete(`/api/oauth/clients/${client.client_id}`)).status).toBe(204);
    const gone = await authorize(client, oauth.generateRandomCodeVerifier(), {
      scope: 'fx-good:read',
    });
    expect(gone.status).toBe(400);
  });

  test('the operator token manages apps too; app tokens cannot', async () => {
    const client = await register({ client_name: 'Automated' });
    const listed = (await call('GET', '/api/oauth/clients')).json.clients as {
      client_id: string;
    }[];
    expect(listed.map((c) => c.client_id)).toContain(client.client_id);
    const approved = await call('POST', `/api/oauth/clients/${client.client_id}/approve`);
    expect(approved.json.client).toMatchObject({ status: 'approved' });
    const tokens = await tokensFor(client, { scope: 'fx-good:read' });
    const asApp = await new ApiClient(url, { origin: null }).get('/api/oauth/clients', {
      authorization: `Bearer ${tokens.access_token}`,
    });
    expect(asApp.status).toBe(401);
  });

  test('grants and their tokens are listed and revocable', async () => {
    const client = await register({ client_name: 'Listed app' });
    const tokens = await tokensFor(client, { scope: 'fx-good:read' });
    const list = (await admin.get('/api/oauth/grants')).json.grants as {
      id: string;
      client_name: string;
      tokens: { id: string }[];
    }[];
    const grant = list.find((g) => g.client_name === 'Listed app');
    expect(grant?.tokens).toHaveLength(1);
    const family = grant?.tokens[0]?.id as string;
    expect((await admin.delete(`/api/oauth/tokens/${family}`)).status).toBe(204);
    expect(await revokedJtis()).toContain(decodeJwt(tokens.access_token).jti as string);
    expect((await admin.delete(`/api/oauth/grants/${grant?.id}`)).status).toBe(204);
    const after = (await admin.get('/api/oauth/grants')).json.grants as { id: string }[];
    expect(after.find((g) => g.id === grant?.id)).toBeUndefined();
  });
});
