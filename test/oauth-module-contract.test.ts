// What upstream modules read from the hub's OAuth endpoints beyond RFC 6749
// (upstream-modules-calls.md sections 3g, 3h, 4), with a real OAuth client
// (oauth4webapi) against the fixture vault (mounts /vault/alpha and
// /vault/beta) and the fixture MCP module: the token answer says where the
// granted modules answer (`services`, `vault`), registration answers say
// `approved` or `pending`, and an admin removes an app with
// DELETE /oauth/clients/<client_id>, which ends everything it holds.
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const REDIRECT = 'http://127.0.0.1:4712/callback';
let url: string;
let home: string;
let admin: ApiClient;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  for (const fixture of ['vault', 'mcp']) {
    expect((await install(started.call, { package: await packFixture(fixture) })).state).toBe(
      'succeeded',
    );
  }
  await running(started.call, 'fx-vault');
  await running(started.call, 'fx-mcp');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const issuer = new URL(url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
}, 120_000);

const operatorToken = async () => (await Bun.file(join(home, 'operator.token')).text()).trim();

/** Registers by DCR as surface and notes-ui do; `token` as surface sends its operator token. */
async function register(token?: string) {
  const res = await oauth.dynamicClientRegistrationRequest(
    as,
    {
      client_name: 'Notes',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
    },
    { ...insecure, ...(token ? { initialAccessToken: token } : {}) },
  );
  return (await oauth.processDynamicClientRegistrationResponse(res)) as oauth.Client & {
    status?: string;
  };
}

/**
 * The signed-in admin authorizes `scope` (ticking `vaults` when the hub
 * asks) and the client exchanges the code: the token answer as the client
 * library hands it over, extra members included.
 */
async function tokensFor(
  client: oauth.Client,
  scope: string,
  vaults?: string[],
  resource?: string,
) {
  const verifier = oauth.generateRandomCodeVerifier();
  const target = new URL(as.authorization_endpoint as string);
  for (const [k, v] of Object.entries({
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st',
    scope,
    ...(resource ? { resource } : {}),
  })) {
    target.searchParams.set(k, v);
  }
  const res = await admin.get(target.pathname + target.search);
  let location = res.headers.get('location') as string;
  if (location.startsWith('/admin/consent?request=')) {
    const id = new URL(location, url).searchParams.get('request') as string;
    const answer = await admin.post(`/api/oauth/requests/${id}`, {
      decision: 'approve',
      ...(vaults ? { vaults } : {}),
    });
    expect(answer.status).toBe(200);
    location = answer.json.redirect as string;
  }
  const params = oauth.validateAuthResponse(as, client, new URL(location), 'st');
  const extra = resource ? { additionalParameters: { resource } } : {};
  return oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      {
        ...insecure,
        ...extra,
      },
    ),
  );
}

async function refresh(client: oauth.Client, refreshToken: string) {
  return oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure),
  );
}

type Services = Record<string, { url: string; version?: string }>;

describe('token answers say where the granted modules answer', () => {
  test('one vault: notes-ui finds the vault’s URL in `services` and calls it; refresh says it again', async () => {
    const client = await register();
    const tokens = await tokensFor(client, 'vault:alpha:read vault:alpha:write');
    const services = tokens.services as Services;
    expect(services).toEqual({
      vault: { url: `${url}/vault/alpha`, version: '1.0.0' },
      'vault:alpha': { url: `${url}/vault/alpha`, version: '1.0.0' },
    });
    expect(tokens.vault).toBe('alpha');
    // notes-ui's rule: services["vault:" + vault] ?? services.vault ?? the issuer.
    const base = (services[`vault:${tokens.vault}`] ?? services.vault)?.url as string;
    const mcp = new Client({ name: 'notes-ui', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } },
      }),
    );
    const saved = await mcp.callTool({
      name: 'write_note',
      arguments: { title: 'from services', body: 'found through the token answer' },
    });
    expect(JSON.stringify(saved.content)).toContain('saved from services');
    await mcp.close();

    const again = await refresh(client, tokens.refresh_token as string);
    expect(again.services).toEqual(services);
    expect(again.vault).toBe('alpha');
  }, 60_000);

  test('two vaults: a key per vault, `vault` is the first, and no single vault is named', async () => {
    const client = await register();
    const tokens = await tokensFor(client, 'vault:read', ['alpha', 'beta']);
    expect(tokens.services).toEqual({
      vault: { url: `${url}/vault/alpha`, version: '1.0.0' },
      'vault:alpha': { url: `${url}/vault/alpha`, version: '1.0.0' },
      'vault:beta': { url: `${url}/vault/beta`, version: '1.0.0' },
    });
    expect(tokens.vault).toBeUndefined();
  }, 60_000);

  test('a module’s scopes name it by its short name at its mount, and no vault', async () => {
    const client = await register();
    const tokens = await tokensFor(client, 'fx-mcp:read', undefined, `${url}/fx-mcp/mcp`);
    expect(tokens.services).toEqual({ 'fx-mcp': { url: `${url}/fx-mcp`, version: '1.0.0' } });
    expect(tokens.vault).toBeUndefined();
  }, 60_000);
});

describe('registration answers say approved or pending', () => {
  test('anonymous apps are pending; the operator token’s and an admin page’s are approved', async () => {
    expect((await register()).status).toBe('pending');
    const surface = await register(await operatorToken());
    expect(surface.status).toBe('approved');
    // surface registers again at every start: the same app, not one more.
    expect((await register(await operatorToken())).client_id).toBe(surface.client_id);

    // An admin's own page on the hub's origin (session cookie, same-origin).
    const fromAdminPage = await admin.post('/oauth/register', { redirect_uris: [REDIRECT] });
    expect(fromAdminPage.status).toBe(201);
    expect(fromAdminPage.json.status).toBe('approved');
    // The same cookie from another site's page (a cross-site form or fetch) earns nothing.
    const crossSite = await admin.post(
      '/oauth/register',
      { redirect_uris: [REDIRECT] },
      { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.json.status).toBe('pending');

    const listed = (await admin.get('/api/oauth/clients')).json.clients as {
      client_id: string;
      status: string;
    }[];
    expect(listed.find((c) => c.client_id === surface.client_id)?.status).toBe('approved');
    expect(listed.find((c) => c.client_id === crossSite.json.client_id)?.status).toBe('pending');
  });

  test('a bearer token that is not an admin’s is refused, not quietly ignored', async () => {
    const bad = await fetch(`${url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' },
      body: JSON.stringify({ redirect_uris: [REDIRECT] }),
    });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_token');
    // An app's own token (for a vault) does not make its registrations trusted.
    const client = await register();
    const tokens = await tokensFor(client, 'vault:alpha:read');
    const appToken = await fetch(`${url}/oauth/register`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.access_token}`,
      },
      body: JSON.stringify({ redirect_uris: [REDIRECT] }),
    });
    expect(appToken.status).toBe(401);
  }, 60_000);
});

describe('DELETE /oauth/clients/<client_id>', () => {
  const remove = (clientId: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/oauth/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE', headers });

  test('nobody but an admin deletes an app: not a visitor, not another app', async () => {
    const victim = await register(await operatorToken());
    expect((await remove(victim.client_id)).status).toBe(401);
    const other = await register();
    const tokens = await tokensFor(other, 'vault:alpha:read');
    const withAppToken = await remove(victim.client_id, {
      authorization: `Bearer ${tokens.access_token}`,
    });
    expect(withAppToken.status).toBe(401);
    // An admin's session without the CSRF token (a cross-site request) is refused too.
    const noCsrf = new ApiClient(url, { csrf: false });
    for (const [k, v] of admin.cookies) noCsrf.cookies.set(k, v);
    expect((await noCsrf.delete(`/oauth/clients/${victim.client_id}`)).status).toBe(403);
    const listed = (await admin.get('/api/oauth/clients')).json.clients as { client_id: string }[];
    expect(listed.map((c) => c.client_id)).toContain(victim.client_id);
  }, 60_000);

  test('the operator token deletes an app and ends its tokens; an unknown id is a JSON 404', async () => {
    const client = await register();
    const tokens = await tokensFor(client, 'vault:alpha:read vault:alpha:write');
    const res = await remove(client.client_id, {
      authorization: `Bearer ${await operatorToken()}`,
    });
    expect(res.status).toBe(204);
    // The app is gone: its refresh token gets nothing, and its access token
    // is on the revocation list modules poll.
    const refused = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
        client_id: client.client_id,
      }),
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
    const { jti } = decodeJwt(tokens.access_token);
    await waitFor('the access token on the revocation list', async () => {
      const list = (await (await fetch(`${url}/.well-known/parachute-revocation.json`)).json()) as {
        jtis: string[];
      };
      return list.jtis.includes(jti as string) ? true : undefined;
    });
    const listed = (await admin.get('/api/oauth/clients')).json.clients as { client_id: string }[];
    expect(listed.map((c) => c.client_id)).not.toContain(client.client_id);

    const again = await remove(client.client_id, {
      authorization: `Bearer ${await operatorToken()}`,
    });
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toContain('application/json');
    expect(((await again.json()) as { error: string }).error).toBe('not_found');
  }, 60_000);

  test('an admin’s session (with CSRF) deletes an app too', async () => {
    const client = await register();
    expect((await admin.delete(`/oauth/clients/${client.client_id}`)).status).toBe(204);
  });
});
