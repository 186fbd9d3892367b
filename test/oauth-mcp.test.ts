// A real MCP client (the TypeScript SDK Claude Code uses) completes the hub's
// OAuth 2.1 flow against a module behind the proxy (auth.md sections 2-4). The
// fixture module test/fixtures/modules/mcp is the resource server: it answers
// 401 with a WWW-Authenticate that points at the hub's protected-resource
// metadata and verifies hub JWTs against the JWKS (iss, aud, expiry, revocation).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  registerClient,
  startAuthorization,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  AuthorizationServerMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';
import { BrowserProvider } from './helpers/sdk-provider.ts';

const hubs = trackHubs();
/** Where the test reaches the hub. */
let url: string;
/** The issuer (auth.md section 1), as the hub publishes it. */
let origin: string;
let home: string;
/** The admin's signed-in "browser" (session cookie + CSRF). */
let admin: ApiClient;
let mcpUrl: URL;
let resourceUrl: string;
let prmUrl: string;

/** The MCP client's loopback redirect target: records every callback it receives. */
let callbackServer: ReturnType<typeof Bun.serve>;
const callbacks: URL[] = [];
let callbackUrl: string;

beforeAll(async () => {
  callbackServer = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      callbacks.push(new URL(req.url));
      return new Response('Signed in. You can close this window.');
    },
  });
  callbackUrl = `http://127.0.0.1:${callbackServer.port}/callback`;

  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  const op = await install(started.call, { package: await packFixture('mcp') });
  expect(op.state).toBe('succeeded');
  await running(started.call, 'fx-mcp');

  const discovery = (await (await fetch(`${url}/.well-known/parachute.json`)).json()) as {
    hub: { origin: string };
  };
  origin = discovery.hub.origin;
  mcpUrl = new URL(`${url}/fx-mcp/mcp`);
  resourceUrl = `${origin}/fx-mcp`;
  prmUrl = `${origin}/.well-known/oauth-protected-resource/fx-mcp`;

  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
}, 90_000);

afterAll(() => {
  callbackServer?.stop(true);
});

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw-fetch', version: '1.0.0' },
  },
};

/** POSTs one JSON-RPC message to the module's MCP endpoint through the hub. */
async function postMcp(body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(mcpUrl, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Status and WWW-Authenticate of a request the module answers; the body is drained. */
async function probe(token?: string, body: unknown = INITIALIZE) {
  const res = await postMcp(body, token);
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

const operatorToken = async () => (await Bun.file(join(home, 'operator.token')).text()).trim();

/**
 * Plays the signed-in admin's browser at the authorize URL: follows the hub's
 * redirect, approves on the consent API when the hub asks, then lands on the
 * client's loopback callback. Returns the callback's query and whether consent was asked.
 */
async function browse(
  authorizeUrl: URL,
): Promise<{ params: URLSearchParams; consent: boolean; request?: string }> {
  expect(authorizeUrl.origin).toBe(new URL(url).origin);
  const res = await admin.get(`${authorizeUrl.pathname}${authorizeUrl.search}`, {
    accept: 'text/html',
  });
  if (res.status !== 302 && res.status !== 303) {
    throw new Error(`GET ${authorizeUrl} answered ${res.status}: ${res.text.slice(0, 500)}`);
  }
  let location = new URL(res.headers.get('location') ?? '', url);
  let consent = false;
  let request: string | undefined;
  if (location.origin === new URL(url).origin && location.pathname === '/admin/consent') {
    consent = true;
    const id = location.searchParams.get('request') ?? '';
    const shown = await admin.get(`/api/oauth/requests/${encodeURIComponent(id)}`);
    if (shown.status !== 200) {
      throw new Error(`GET /api/oauth/requests/${id} answered ${shown.status}: ${shown.text}`);
    }
    request = shown.text;
    const decided = await admin.post(`/api/oauth/requests/${encodeURIComponent(id)}`, {
      decision: 'approve',
    });
    if (decided.status !== 200 || typeof decided.json.redirect !== 'string') {
      throw new Error(`POST /api/oauth/requests/${id} answered ${decided.status}: ${decided.text}`);
    }
    location = new URL(decided.json.redirect);
  }
  // The browser follows the redirect to the client's loopback server.
  const seen = callbacks.length;
  const landed = await fetch(location, { redirect: 'manual' });
  await landed.arrayBuffer();
  expect(landed.status).toBe(200);
  expect(callbacks.length).toBe(seen + 1);
  const params = callbacks[seen]?.searchParams ?? new URLSearchParams();
  return { params, consent, request };
}

type Browsed = Awaited<ReturnType<typeof browse>>;
type TestProvider = BrowserProvider<Browsed>;

/** The SDK's provider whose "browser" is `browse`, registering `registered` redirect URIs. */
function testProvider(redirect: string, registered?: string[]): TestProvider {
  return new BrowserProvider(redirect, browse, {
    clientName: 'oauth-mcp test client',
    issuer: origin,
    ...(registered ? { registeredRedirects: registered } : {}),
  });
}

/**
 * The SDK's pattern: connect (the server answers 401, the SDK discovers, registers
 * and redirects, so connect throws UnauthorizedError), finishAuth with the code
 * from the callback, then connect again on a new transport with the same provider.
 */
async function connectWithOAuth(provider: TestProvider): Promise<Client> {
  const first = new Client({ name: 'oauth-mcp-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const refused = await first.connect(transport).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(refused instanceof UnauthorizedError)) {
    throw new Error(`expected the first connect to need authorization, got: ${refused}`);
  }
  await transport.finishAuth(provider.code());
  await first.close();
  const client = new Client({ name: 'oauth-mcp-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  return client;
}

const text = (result: Awaited<ReturnType<Client['callTool']>>) =>
  (result.content as { type: string; text: string }[]).map((c) => c.text).join('');

describe('the fixture MCP module as a resource server', () => {
  test('health answers through the proxy', async () => {
    const res = await fetch(`${url}/fx-mcp/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  test('no token: 401 whose WWW-Authenticate points at the hub’s protected-resource metadata', async () => {
    const { status, challenge } = await probe();
    expect(status).toBe(401);
    expect(challenge).toBe(`Bearer resource_metadata="${prmUrl}"`);
  });

  test('refuses garbage, unsigned and foreign-key tokens with invalid_token', async () => {
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    const kid = jwks.keys[0]?.kid ?? 'none';
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: origin,
      sub: 'someone',
      aud: ['fx-mcp', resourceUrl],
      iat: now,
      exp: now + 600,
      jti: crypto.randomUUID(),
      scope: 'fx-mcp:read',
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    // Right claims and the hub's kid, but signed by a key the hub never published.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(privateKey);
    for (const token of ['not-a-jwt', unsigned, forged]) {
      const { status, challenge } = await probe(token);
      expect(status).toBe(401);
      expect(challenge).toStartWith(`Bearer resource_metadata="${prmUrl}", error="invalid_token"`);
    }
  });

  test('refuses a genuine hub token minted for another audience (the operator token)', async () => {
    const token = await operatorToken();
    expect(decodeJwt(token).aud).toBe('operator');
    // The hub itself accepts it...
    const hub = await fetch(`${url}/api/modules`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(hub.status).toBe(200);
    // ...the module does not.
    const { status, challenge } = await probe(token);
    expect(status).toBe(401);
    expect(challenge).toContain('error="invalid_token"');
  });
});

describe('OAuth 2.1 discovery for the module', () => {
  test('the protected-resource metadata names the resource and the hub as its authorization server', async () => {
    const res = await fetch(prmUrl.replace(origin, url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const prm = (await res.json()) as Record<string, unknown>;
    expect(prm.resource).toBe(resourceUrl);
    expect(prm.authorization_servers).toEqual([origin]);
  });

  test('the authorization server metadata advertises what the SDK needs', async () => {
    // The SDK's own discovery parses and validates it...
    const parsed = await discoverAuthorizationServerMetadata(url);
    expect(parsed?.issuer).toBe(origin);
    // ...and it carries every field auth.md section 2 lists.
    const res = await fetch(`${url}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: origin,
      authorization_endpoint: `${origin}/oauth/authorize`,
      token_endpoint: `${origin}/oauth/token`,
      registration_endpoint: `${origin}/oauth/register`,
      revocation_endpoint: `${origin}/oauth/revoke`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(metadata.scopes_supported).toEqual(
      expect.arrayContaining(['fx-mcp:read', 'fx-mcp:write']),
    );
    expect(metadata.scopes_supported).not.toContain('parachute:host:admin');
  });
});

describe('the MCP SDK client completes OAuth through the hub and calls a tool', () => {
  let provider: TestProvider;
  let client: Client;

  beforeAll(async () => {
    provider = testProvider(callbackUrl);
    client = await connectWithOAuth(provider);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
  });

  test('the first authorization asked the admin for consent, for the module’s resource', () => {
    expect(provider.rounds).toHaveLength(1);
    const round = provider.rounds[0];
    expect(round?.consent).toBe(true);
    // What the consent page shows: the client's name and the scopes it asks for.
    expect(round?.request).toContain('oauth-mcp test client');
    expect(round?.request).toContain('fx-mcp:read');
    expect(round?.authorizeUrl.searchParams.get('resource')).toBe(resourceUrl);
    expect(round?.authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
  });

  test('echo answers through the proxy', async () => {
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe(
      'echo: hi',
    );
  });

  test('the access token is a hub JWT for the module: iss, aud, scope, client_id', async () => {
    const token = provider.saved?.access_token ?? '';
    expect(provider.saved?.token_type.toLowerCase()).toBe('bearer');
    expect(provider.saved?.refresh_token).toBeString();
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('RS256');
    expect(header.kid).toBeString();
    const claims = decodeJwt(token);
    expect(claims.iss).toBe(origin);
    expect(claims.aud).toContain('fx-mcp');
    expect(claims.aud).toContain(resourceUrl);
    expect(String(claims.scope).split(' ')).toContain('fx-mcp:read');
    expect(String(claims.scope)).not.toContain('parachute:host');
    expect(claims.client_id).toBe(provider.client?.client_id);
    expect(typeof claims.jti).toBe('string');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(15 * 60);
    // The module saw the same claims.
    const seen = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(seen).toMatchObject({ iss: origin, jti: claims.jti, sub: claims.sub });
  });

  test('within the recorded grant, a new authorization skips consent', async () => {
    const again = testProvider(callbackUrl);
    again.client = provider.client;
    const second = await connectWithOAuth(again);
    try {
      expect(again.rounds).toHaveLength(1);
      expect(again.rounds[0]?.consent).toBe(false);
      expect(text(await second.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe(
        'echo: again',
      );
    } finally {
      await second.close();
    }
  }, 30_000);

  test('a refused access token: the SDK refreshes (rotating the refresh token) and carries on', async () => {
    const own = testProvider(callbackUrl);
    own.client = provider.client;
    const c = await connectWithOAuth(own);
    try {
      const before = own.saved as OAuthTokens;
      own.saved = { ...before, access_token: 'no-longer-valid' };
      expect(text(await c.callTool({ name: 'echo', arguments: { text: 'refreshed' } }))).toBe(
        'echo: refreshed',
      );
      expect(own.saved.access_token).not.toBe('no-longer-valid');
      expect(decodeJwt(own.saved.access_token).iss).toBe(origin);
      expect(own.saved.refresh_token).toBeString();
      expect(own.saved.refresh_token).not.toBe(before.refresh_token);
      // No second trip through the browser.
      expect(own.rounds).toHaveLength(1);
    } finally {
      await c.close();
    }
  }, 30_000);

  test('a revoked access token is refused by the module', async () => {
    // A token of its own, so the client above keeps working.
    const own = testProvider(callbackUrl);
    own.client = provider.client;
    const c = await connectWithOAuth(own);
    await c.close();
    const token = own.saved?.access_token ?? '';
    expect((await probe(token)).status).toBe(200);
    const res = await fetch(`${url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token,
        token_type_hint: 'access_token',
        client_id: own.client?.client_id ?? '',
      }),
    });
    expect(res.status).toBe(200);
    const refused = await waitFor(
      'the module to refuse the revoked token',
      async () => {
        const r = await probe(token);
        return r.status === 401 ? r : undefined;
      },
      5_000,
    );
    expect(refused.challenge).toContain('error="invalid_token"');
    // The hub lists it; other tokens still work.
    const list = (await (await fetch(`${url}/.well-known/parachute-revocation.json`)).json()) as {
      jtis: string[];
    };
    expect(list.jtis).toContain(decodeJwt(token).jti as string);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'still' } }))).toBe(
      'echo: still',
    );
  }, 30_000);
});

describe('loopback redirect URIs match with any port (RFC 8252 section 7.3)', () => {
  test('registered without a port, redirected to the callback’s port', async () => {
    const provider = testProvider(callbackUrl, ['http://127.0.0.1/callback']);
    const client = await connectWithOAuth(provider);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'no port' } }))).toBe(
        'echo: no port',
      );
    } finally {
      await client.close();
    }
  }, 30_000);

  test('registered with one port, redirected to another', async () => {
    const other = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') });
    const registered = `http://127.0.0.1:${other.port}/callback`;
    other.stop(true);
    const provider = testProvider(callbackUrl, [registered]);
    const client = await connectWithOAuth(provider);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'any port' } }))).toBe(
        'echo: any port',
      );
    } finally {
      await client.close();
    }
  }, 30_000);
});

describe('scopes', () => {
  let metadata: AuthorizationServerMetadata | undefined;

  /** The code flow by the SDK's own functions, for a chosen scope. */
  async function tokenFor(scope: string): Promise<OAuthTokens> {
    metadata ??= await discoverAuthorizationServerMetadata(url);
    const clientInformation = await registerClient(url, {
      metadata,
      clientMetadata: testProvider(callbackUrl).clientMetadata,
      scope,
    });
    const state = crypto.randomUUID();
    const { authorizationUrl, codeVerifier } = await startAuthorization(url, {
      metadata,
      clientInformation,
      redirectUrl: callbackUrl,
      scope,
      state,
      resource: resourceUrl,
    });
    const { params } = await browse(authorizationUrl);
    expect(params.get('state')).toBe(state);
    expect(params.get('iss')).toBe(origin);
    return exchangeAuthorization(url, {
      metadata,
      clientInformation,
      authorizationCode: params.get('code') ?? '',
      codeVerifier,
      redirectUri: callbackUrl,
      resource: resourceUrl,
    });
  }

  test('a token without fx-mcp:read may connect but not echo: 403 insufficient_scope', async () => {
    const tokens = await tokenFor('fx-mcp:write');
    expect(decodeJwt(tokens.access_token).scope).toBe('fx-mcp:write');
    expect((await probe(tokens.access_token)).status).toBe(200);
    const call = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    };
    const { status, challenge } = await probe(tokens.access_token, call);
    expect(status).toBe(403);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="fx-mcp:read"');
  }, 30_000);

  test('an admin-only scope is refused at authorize with invalid_scope, before any code', async () => {
    metadata ??= await discoverAuthorizationServerMetadata(url);
    const clientInformation = await registerClient(url, {
      metadata,
      clientMetadata: testProvider(callbackUrl).clientMetadata,
    });
    const { authorizationUrl } = await startAuthorization(url, {
      metadata,
      clientInformation,
      redirectUrl: callbackUrl,
      scope: 'parachute:host:admin',
      state: 's',
      resource: resourceUrl,
    });
    const res = await admin.get(`${authorizationUrl.pathname}${authorizationUrl.search}`, {
      accept: 'text/html',
    });
    const location = res.headers.get('location');
    // Either an error redirect to the client or an error page; never a code.
    if (location) {
      const to = new URL(location, url);
      expect(to.searchParams.get('error')).toBe('invalid_scope');
      expect(to.searchParams.get('code')).toBeNull();
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).toContain('invalid_scope');
    }
  }, 30_000);
});
