// The client matrix (issue 13): every client shape people really point at a
// hub completes discovery → registration or CIMD → sign-in → consent → code
// exchange → a tool call on a vault-like module → refresh → revoke, against
// the fixture vault (test/fixtures/modules/vault), which serves its own
// protected-resource metadata and 401 challenge the way the upstream vault
// does, with scopes the hub does not define. Then: the SSRF rules of the
// metadata document fetch, each with its negative case.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { runBinary, waitFor } from './helpers/binary.ts';
import { type DocumentServer, documentServer, TEST_CA } from './helpers/cimd.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';
import { BrowserProvider } from './helpers/sdk-provider.ts';

const hubs = trackHubs();
const BUN = join(import.meta.dir, '../node_modules/.bin/bun');
let docs: DocumentServer;
let url: string;
let home: string;
let call: OperatorCall;
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** What each row of the matrix showed, printed at the end (and quoted in the README table). */
const shown: string[] = [];

beforeAll(async () => {
  docs = documentServer();
  const started = await hubWithOperator(hubs, {
    // The documents are served on loopback with a test CA: the two settings an
    // operator would use for a client on their own LAN.
    PARACHUTE_CIMD_PRIVATE_HOSTS: 'localhost',
    NODE_EXTRA_CA_CERTS: TEST_CA,
  });
  url = started.url;
  home = started.hub.home;
  call = started.call;
  const op = await install(call, { package: await packFixture('vault') });
  expect(op.state).toBe('succeeded');
  await running(call, 'fx-vault');
}, 120_000);

afterAll(() => {
  docs?.stop();
  if (shown.length > 0) console.log(`client matrix:\n${shown.join('\n')}`);
});

const mcpUrl = (vault: string) => new URL(`${url}/vault/${vault}/mcp`);

/** A person signed in to the hub in their browser (session cookie + CSRF). */
async function signIn(): Promise<ApiClient> {
  const person = new ApiClient(url);
  await person.login(ADMIN.username, ADMIN.password);
  return person;
}

interface Consented {
  /** Where the hub finally sends the browser: the client's redirect URI with code or error. */
  location: URL;
  /** What the consent page was given to show, when it was shown. */
  page?: {
    client: { metadata_host: string | null; redirect_host: string; first_time: boolean };
    scopes: { scope: string }[];
    not_granted: { scope: string }[];
    vault_choice: { vaults: string[] } | null;
  };
}

/**
 * Plays the person's browser at an authorize URL: the hub either answers at
 * once or sends them to the consent page, where they approve (ticking
 * `vaults` when the page asks). The redirect back is read, not followed.
 */
async function consent(
  person: ApiClient,
  authorizeUrl: URL,
  vaults?: string[],
): Promise<Consented> {
  const res = await person.get(`${authorizeUrl.pathname}${authorizeUrl.search}`, {
    accept: 'text/html',
  });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) {
    throw new Error(`authorize answered ${res.status}: ${res.text.slice(0, 400)}`);
  }
  if (!location.startsWith('/admin/consent?request=')) return { location: new URL(location) };
  const id = new URL(location, url).searchParams.get('request') as string;
  const page = await person.get(`/api/oauth/requests/${encodeURIComponent(id)}`);
  expect(page.status).toBe(200);
  const picked = page.json.vault_choice ? { vaults: vaults ?? [] } : {};
  const answer = await person.post(`/api/oauth/requests/${encodeURIComponent(id)}`, {
    decision: 'approve',
    ...picked,
  });
  if (answer.status !== 200) throw new Error(`consent answered ${answer.status}: ${answer.text}`);
  return {
    location: new URL(answer.json.redirect as string),
    page: page.json as Consented['page'],
  };
}

/** The MCP client a token-holding app uses for tool calls. */
async function mcpWith(vault: string, token: string): Promise<Client> {
  const client = new Client({ name: 'matrix', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(mcpUrl(vault), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const text = (result: Awaited<ReturnType<Client['callTool']>>) =>
  (result.content as { type: string; text: string }[]).map((c) => c.text).join('');

/** Writes a note and reads it back: the two verbs a token must carry. */
async function writeAndRead(client: Client, title: string): Promise<void> {
  const body = `written by ${title} at ${Date.now()}`;
  expect(text(await client.callTool({ name: 'write_note', arguments: { title, body } }))).toBe(
    `saved ${title}`,
  );
  expect(text(await client.callTool({ name: 'read_note', arguments: { title } }))).toBe(body);
}

/** Status of an MCP request with `token` (the body drained). */
async function probe(vault: string, token: string): Promise<number> {
  const res = await fetch(mcpUrl(vault), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Revokes a refresh token (RFC 7009) and waits for the module to refuse `accessToken`. */
async function revokeAndSeeRefused(
  clientId: string,
  refreshToken: string,
  accessToken: string,
  vault: string,
) {
  expect(await probe(vault, accessToken)).toBe(200);
  const res = await fetch(`${url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token: refreshToken,
      token_type_hint: 'refresh_token',
      client_id: clientId,
    }),
  });
  expect(res.status).toBe(200);
  // The module re-reads /.well-known/parachute-revocation.json at most every second.
  await waitFor(
    'the module to refuse the revoked token',
    async () => ((await probe(vault, accessToken)) === 401 ? true : undefined),
    5_000,
  );
}

/**
 * Discovery as a client does it: the module's 401 challenge names its
 * protected-resource metadata, which names the hub as authorization server.
 */
async function discover(vault: string) {
  const res = await fetch(mcpUrl(vault), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: '{}',
  });
  await res.arrayBuffer();
  expect(res.status).toBe(401);
  const prmUrl = /resource_metadata="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
  expect(prmUrl).toBe(`${url}/vault/${vault}/.well-known/oauth-protected-resource`);
  const prm = (await (await fetch(prmUrl as string)).json()) as {
    resource: string;
    authorization_servers: string[];
    scopes_supported: string[];
  };
  const issuer = new URL(prm.authorization_servers[0] as string);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  return { prm, as };
}

/** How a scripted replica of a real client behaves. */
interface Replica {
  row: string;
  /** The client_id: a metadata document URL (CIMD), or null to register (DCR). */
  documentUrl: string | null;
  /** Registered redirect URIs (DCR), when documentUrl is null. */
  register?: Record<string, unknown>;
  /** The redirect_uri the client sends at authorize. */
  redirectUri: string;
  /** Claude Code sends none. */
  sendResource: boolean;
  vault: string;
}

/**
 * One replica through the whole flow with oauth4webapi doing the protocol
 * work, sending what the real client sends: scopes copied from the module's
 * metadata, its own redirect URI, `resource` or not.
 */
async function runReplica(r: Replica) {
  const { prm, as } = await discover(r.vault);
  let client: oauth.Client;
  if (r.documentUrl) {
    expect(as.client_id_metadata_document_supported).toBe(true);
    expect(as.token_endpoint_auth_methods_supported).toContain('none');
    client = { client_id: r.documentUrl, token_endpoint_auth_method: 'none' };
  } else {
    const res = await oauth.dynamicClientRegistrationRequest(
      as,
      (r.register ?? {}) as Partial<oauth.OmitSymbolProperties<oauth.Client>>,
      insecure,
    );
    client = (await oauth.processDynamicClientRegistrationResponse(res)) as oauth.Client;
  }
  const person = await signIn();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const target = new URL(as.authorization_endpoint as string);
  target.searchParams.set('client_id', client.client_id);
  target.searchParams.set('redirect_uri', r.redirectUri);
  target.searchParams.set('response_type', 'code');
  target.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  target.searchParams.set('code_challenge_method', 'S256');
  target.searchParams.set('state', state);
  target.searchParams.set('scope', prm.scopes_supported.join(' '));
  if (r.sendResource) target.searchParams.set('resource', prm.resource);
  const { location, page } = await consent(person, target, [r.vault]);
  expect(`${location.protocol}//${location.host}${location.pathname}`).toBe(
    r.redirectUri.replace(/\/$/, location.pathname === '/' ? '/' : ''),
  );
  expect(page?.not_granted.map((d) => d.scope).sort()).toEqual(['full', 'read']);
  if (r.documentUrl) expect(page?.client.metadata_host).toBe(`localhost:${docs.port}`);
  const params = oauth.validateAuthResponse(as, client, location.searchParams, state);
  const resource = r.sendResource ? { additionalParameters: { resource: prm.resource } } : {};
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      r.redirectUri,
      verifier,
      { ...insecure, ...resource },
    ),
  );
  const claims = decodeJwt(tokens.access_token);
  const aud = [claims.aud].flat();
  expect(aud).toContain(`vault.${r.vault}`);
  expect(String(tokens.scope).split(' ')).toContain(`vault:${r.vault}:write`);
  const mcp = await mcpWith(r.vault, tokens.access_token);
  await writeAndRead(mcp, r.row);
  await mcp.close();
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, {
      ...insecure,
      ...resource,
    }),
  );
  expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  const again = await mcpWith(r.vault, refreshed.access_token);
  await writeAndRead(again, `${r.row} after refresh`);
  await again.close();
  await revokeAndSeeRefused(
    client.client_id,
    refreshed.refresh_token as string,
    refreshed.access_token,
    r.vault,
  );
  shown.push(
    `  ${r.row}: resource ${r.sendResource ? 'sent' : 'omitted'}, consent ${page ? 'asked' : 'skipped'}${page?.vault_choice ? ' (picked a vault)' : ''}, scope "${tokens.scope}", aud ${JSON.stringify(claims.aud)}`,
  );
}

/**
 * The stock SDK client with no special options: connect (401, discovery,
 * registration or CIMD, the browser round trip), finishAuth, connect again,
 * write and read, a refused token refreshed, revoke.
 */
async function runSdk(row: string, vault: string, documentUrl?: string) {
  const person = await signIn();
  const redirect = `http://127.0.0.1:${40_000 + Math.floor(Math.random() * 20_000)}/callback`;
  const provider = new BrowserProvider(
    redirect,
    async (authorizeUrl) => {
      const done = await consent(person, authorizeUrl);
      return { ...done, params: done.location.searchParams };
    },
    { issuer: url, ...(documentUrl ? { clientMetadataUrl: documentUrl } : {}) },
  );
  const first = new Client({ name: row, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl(vault), { authProvider: provider });
  const refused = await first.connect(transport).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(UnauthorizedError);
  await transport.finishAuth(provider.code());
  await first.close();
  const client = new Client({ name: row, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(mcpUrl(vault), { authProvider: provider }),
  );
  try {
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['read_note', 'whoami', 'write_note']);
    await writeAndRead(client, row);
    if (documentUrl) expect(provider.client?.client_id).toBe(documentUrl);
    else expect(provider.client?.client_id).toStartWith('client_');
    const before = provider.saved as OAuthTokens;
    const claims = decodeJwt(before.access_token);
    expect([claims.aud].flat()).toContain(`vault.${vault}`);
    // An access token the module refuses: the SDK refreshes on its own and carries on.
    provider.saved = { ...before, access_token: 'no-longer-valid' };
    await writeAndRead(client, `${row} after refresh`);
    expect(provider.saved.refresh_token).not.toBe(before.refresh_token);
    expect(provider.rounds).toHaveLength(1);
    await revokeAndSeeRefused(
      provider.client?.client_id as string,
      provider.saved.refresh_token as string,
      provider.saved.access_token,
      vault,
    );
    const page = provider.rounds[0]?.page;
    shown.push(
      `  ${row}: consent ${page ? 'asked' : 'skipped'}, scope "${before.scope}", aud ${JSON.stringify(claims.aud)}`,
    );
  } finally {
    await client.close();
  }
}

const CLIENT_BASICS = {
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
};

describe('the client matrix: each client shape connects, calls a tool, refreshes and is revoked', () => {
  test('MCP SDK client, registering by DCR', async () => {
    await runSdk('MCP SDK (DCR)', 'alpha');
  }, 60_000);

  test('MCP SDK client, identified by a metadata document (CIMD)', async () => {
    const doc = docs.publish('/clients/mcp-sdk.json', {
      client_name: 'MCP SDK client',
      redirect_uris: ['http://127.0.0.1/callback'],
      ...CLIENT_BASICS,
    });
    await runSdk('MCP SDK (CIMD)', 'beta', doc);
  }, 60_000);

  // Scripted replicas: what each real client sends, row by row (README's table).
  const loopbackPort = () => 40_000 + Math.floor(Math.random() * 20_000);
  const REPLICAS: (Omit<Replica, 'documentUrl'> & { document?: Record<string, unknown> })[] = [
    {
      row: 'oauth4webapi (CIMD)',
      document: { client_name: 'oauth4webapi', redirect_uris: ['http://127.0.0.1/cb'] },
      redirectUri: `http://127.0.0.1:${loopbackPort()}/cb`,
      sendResource: true,
      vault: 'alpha',
    },
    {
      // Registered without a port; listens on one it picks; sends no resource.
      row: 'Claude Code',
      document: {
        client_name: 'Claude Code',
        client_uri: 'https://claude.ai',
        redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      },
      redirectUri: `http://localhost:${loopbackPort()}/callback`,
      sendResource: false,
      vault: 'beta',
    },
    {
      row: 'claude.ai',
      document: {
        client_name: 'Claude',
        client_uri: 'https://claude.ai',
        redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      },
      redirectUri: 'https://claude.ai/api/mcp/auth_callback',
      sendResource: true,
      vault: 'alpha',
    },
    {
      row: 'VS Code',
      document: {
        client_name: 'Visual Studio Code',
        redirect_uris: ['http://127.0.0.1:33418/', 'https://vscode.dev/redirect'],
      },
      redirectUri: 'http://127.0.0.1:33418/',
      sendResource: true,
      vault: 'beta',
    },
    {
      // Registers by DCR, three redirect URIs in one request, and uses its own scheme.
      row: 'Cursor',
      register: {
        client_name: 'Cursor',
        redirect_uris: [
          'cursor://anysphere.cursor-mcp/oauth/callback',
          'https://www.cursor.com/agents/mcp/oauth/callback',
          'http://localhost:8787/callback',
        ],
        ...CLIENT_BASICS,
      },
      redirectUri: 'cursor://anysphere.cursor-mcp/oauth/callback',
      sendResource: true,
      vault: 'alpha',
    },
  ];

  for (const { document, ...replica } of REPLICAS) {
    test(`${replica.row}: ${document ? 'CIMD' : 'DCR'}, resource ${replica.sendResource ? 'sent' : 'omitted'}`, async () => {
      const slug = replica.row.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const documentUrl = document
        ? docs.publish(`/clients/${slug}.json`, { ...document, ...CLIENT_BASICS })
        : null;
      await runReplica({ ...replica, documentUrl });
    }, 60_000);
  }
});

describe('a vault created while the module runs (modules.md section 7)', () => {
  test('is routable, described and grantable within a second, and a client connects to it', async () => {
    const row = (await moduleNamed(call, 'fx-vault')) as {
      pid: number;
      row: { installDir: string };
    };
    const pid = row.pid;
    const installDir = row.row.installDir;
    const made = await runBinary(BUN, [join(installDir, 'bin/create.js'), 'gamma'], {
      env: { PARACHUTE_HOME: home },
    });
    expect(made.code).toBe(0);
    const started = performance.now();
    await waitFor(
      'the new vault to be routed, described and offered',
      async () => {
        const own = await fetch(`${url}/vault/gamma/.well-known/oauth-protected-resource`);
        const hubPrm = await fetch(`${url}/.well-known/oauth-protected-resource/vault/gamma`);
        const as = (await (
          await fetch(`${url}/.well-known/oauth-authorization-server`)
        ).json()) as { scopes_supported: string[] };
        const discovery = (await (await fetch(`${url}/.well-known/parachute.json`)).json()) as {
          services: { path: string }[];
        };
        const ready =
          own.status === 200 &&
          hubPrm.status === 200 &&
          as.scopes_supported.includes('vault:gamma:read') &&
          discovery.services.some((s) => s.path === '/vault/gamma');
        return ready ? true : undefined;
      },
      1_000,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    // Nothing restarted.
    expect((await moduleNamed(call, 'fx-vault'))?.pid).toBe(pid);
    await runSdk('MCP SDK on a new vault', 'gamma');
  }, 60_000);
});

describe('metadata documents are fetched safely (SSRF), checked and cached', () => {
  const CHALLENGE = 'A'.repeat(43);

  /** Opens the authorize page for `clientId` in `person`'s browser. */
  function openAuthorize(person: ApiClient, clientId: string, hubUrl = url) {
    const q = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1/callback',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      scope: 'vault:read',
      resource: `${hubUrl}/vault/alpha`,
    });
    return person.get(`/oauth/authorize?${q}`, { accept: 'text/html' });
  }

  /** Opens the authorize page for `clientId` as the admin, freshly signed in. */
  async function authorizeAs(clientId: string, hubUrl = url) {
    const person = new ApiClient(hubUrl);
    await person.login(ADMIN.username, ADMIN.password);
    return openAuthorize(person, clientId, hubUrl);
  }

  test('the issuer metadata advertises CIMD and public clients (what claude.ai looks for)', async () => {
    const as = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as {
      client_id_metadata_document_supported: boolean;
      token_endpoint_auth_methods_supported: string[];
    };
    expect(as.client_id_metadata_document_supported).toBe(true);
    expect(as.token_endpoint_auth_methods_supported).toContain('none');
  });

  test('each rule refuses with a page that says why, and issues nothing', async () => {
    docs.publish('/clients/plain.json', {
      client_name: 'Plain',
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    docs.publish('/clients/bad-redirect.json', {
      client_name: 'Bad redirect',
      redirect_uris: ['javascript:alert(document.cookie)'],
    });
    docs.publish('/clients/secret.json', {
      client_name: 'Confidential',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'private_key_jwt',
    });
    for (const [clientId, why] of [
      [`http://localhost:${docs.port}/clients/plain.json`, 'is not an https URL'],
      [`${docs.origin}/redirect-away`, 'redirects to another host'],
      [`https://127.0.0.1:${docs.port}/clients/plain.json`, 'loopback, private or link-local'],
      [`https://[::1]:${docs.port}/clients/plain.json`, 'loopback, private or link-local'],
      [`https://169.254.169.254/latest/meta-data/`, 'loopback, private or link-local'],
      [`${docs.origin}/big.json`, 'larger than 5120 bytes'],
      [`${docs.origin}/mismatch.json`, 'is not its own URL'],
      [`${docs.origin}/clients/bad-redirect.json`, 'javascript:'],
      [`${docs.origin}/clients/secret.json`, 'private_key_jwt'],
      [`${docs.origin}/clients/missing.json`, 'HTTP 404'],
      [`${docs.origin}/`, 'must have a path'],
    ] as const) {
      const res = await authorizeAs(clientId);
      expect([clientId, res.status]).toEqual([clientId, 400]);
      expect(res.headers.get('location')).toBeNull();
      expect(res.text.replaceAll('&#39;', "'").replaceAll('&quot;', '"')).toContain(why);
    }
  }, 30_000);

  test('a server that never answers is given up on after 5 s', async () => {
    const started = performance.now();
    const res = await authorizeAs(`${docs.origin}/hang.json`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('did not answer within 5 s');
    expect(performance.now() - started).toBeLessThan(8_000);
  }, 20_000);

  test('a name resolving to loopback is refused unless the operator named it', async () => {
    const other = await hubWithOperator(hubs, { NODE_EXTRA_CA_CERTS: TEST_CA });
    const doc = docs.publish('/clients/lan.json', {
      client_name: 'LAN client',
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    const res = await authorizeAs(doc, other.url);
    expect(res.status).toBe(400);
    expect(res.text).toContain(`localhost:${docs.port} resolves to`);
    expect(res.text).toContain('loopback, private or link-local');
    expect(docs.hits('/clients/lan.json')).toBe(0);
  }, 30_000);

  test('one address cannot make the hub fetch without end: 30 documents per 10 minutes', async () => {
    // A hub of its own, so the other tests' fetches do not count.
    const other = await hubWithOperator(hubs, {
      PARACHUTE_CIMD_PRIVATE_HOSTS: 'localhost',
      NODE_EXTRA_CA_CERTS: TEST_CA,
    });
    const fetchesBefore = docs.hits('/clients/missing.json');
    for (let i = 0; i < 30; i++) {
      const res = await authorizeAs(`${docs.origin}/clients/missing.json?n=${i}`, other.url);
      expect(res.text).toContain('HTTP 404');
    }
    const limited = await authorizeAs(`${docs.origin}/clients/missing.json?n=30`, other.url);
    expect(limited.status).toBe(400);
    expect(limited.text).toContain('Too many app descriptions fetched for this address');
    expect(docs.hits('/clients/missing.json') - fetchesBefore).toBe(30);
  }, 30_000);

  test('documents are cached per Cache-Control, and the consent page names the host', async () => {
    docs.publish(
      '/clients/cached.json',
      { client_name: 'Cached', redirect_uris: ['http://127.0.0.1/callback'] },
      { 'cache-control': 'public, max-age=300' },
    );
    docs.publish(
      '/clients/uncached.json',
      { client_name: 'Uncached', redirect_uris: ['http://127.0.0.1/callback'] },
      { 'cache-control': 'no-store' },
    );
    for (let i = 0; i < 2; i++) {
      expect((await authorizeAs(`${docs.origin}/clients/cached.json`)).status).toBe(302);
      expect((await authorizeAs(`${docs.origin}/clients/uncached.json`)).status).toBe(302);
    }
    expect(docs.hits('/clients/cached.json')).toBe(1);
    expect(docs.hits('/clients/uncached.json')).toBe(2);
    const person = await signIn();
    const mine = await authorizeAsWith(person, `${docs.origin}/clients/cached.json`);
    expect(mine.client.metadata_host).toBe(`localhost:${docs.port}`);
    expect(mine.client.client_name).toBe('Cached');
    // The admin manages it like any app: its id is its URL.
    const id = encodeURIComponent(`${docs.origin}/clients/cached.json`);
    expect((await person.post(`/api/oauth/clients/${id}/approve`)).status).toBe(200);
    const after = await authorizeAsWith(person, `${docs.origin}/clients/cached.json`);
    expect(after.client.first_time).toBe(false);
  }, 30_000);

  /** What the consent page shows `person` for `clientId`. */
  async function authorizeAsWith(person: ApiClient, clientId: string) {
    const res = await openAuthorize(person, clientId);
    const id = new URL(res.headers.get('location') as string, url).searchParams.get('request');
    const page = await person.get(`/api/oauth/requests/${id}`);
    return page.json as {
      client: { metadata_host: string; client_name: string; first_time: boolean };
    };
  }
});
