// Agent-connector grants (upstream's /admin/grants, vault kind only): the
// agent module asks, with the host's bearer, for vault access for one of
// its agents; an admin approves in their own browser session; only then
// does the agent get a token, which the vault accepts, and which ends when
// the grant is revoked or reconciled away.
import { beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
/** The agent module: it holds the host's bearer. */
let agentModule: OperatorCall;
let admin: ApiClient;
let friend: ApiClient;

const samePage = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
const readAlpha = { kind: 'vault', target: 'alpha', access: 'read' };

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  agentModule = started.call;
  const op = await install(agentModule, { package: await packFixture('vault') });
  expect(op.state).toBe('succeeded');
  await running(agentModule, 'fx-vault');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
}, 120_000);

async function whoami(vault: string, token: string) {
  const res = await fetch(`${url}/vault/${vault}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    }),
  });
  const text = await res.text();
  return { status: res.status, text };
}

const approve = (client: ApiClient, id: string, headers: Record<string, string> = samePage) =>
  client.request('POST', `/admin/grants/${id}/approve`, {}, headers);

describe('a vault grant', () => {
  let id: string;

  test('asked for by the agent module, it stays pending, without material, until approved', async () => {
    const asked = await agentModule('PUT', '/admin/grants', {
      agent: 'scout',
      connection: readAlpha,
    });
    expect(asked.status).toBe(201);
    expect(asked.json).toMatchObject({
      agent: 'scout',
      connection: { kind: 'vault', target: 'alpha', access: 'read', tags: [] },
      status: 'pending',
    });
    id = asked.json.id as string;
    const again = await agentModule('PUT', '/admin/grants', {
      agent: 'scout',
      connection: readAlpha,
    });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(id);
    const material = await agentModule('GET', `/admin/grants/${id}/material`);
    expect(material.status).toBe(409);
    expect(material.json.error).toBe('not_approved');
  });

  test('the agent module cannot approve its own ask; nor can a user or another site', async () => {
    const withBearer = await agentModule('POST', `/admin/grants/${id}/approve`, {});
    expect(withBearer.status).toBe(403);
    expect((await approve(friend, id)).status).toBe(403);
    const crossSite = await approve(admin, id, {
      'sec-fetch-site': 'cross-site',
      origin: 'http://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect((await approve(new ApiClient(url), id)).status).toBe(401);
    const listed = (await agentModule('GET', '/admin/grants?agent=scout')).json.grants as {
      status: string;
    }[];
    expect(listed.map((g) => g.status)).toEqual(['pending']);
  });

  test('approved by an admin, its material is a token the vault accepts; listings never carry it', async () => {
    const approved = await approve(admin, id);
    expect(approved.status).toBe(200);
    expect(approved.json.status).toBe('approved');
    expect(approved.json.approvedAt).toBeString();
    const material = await agentModule('GET', `/admin/grants/${id}/material`);
    expect(material.status).toBe(200);
    expect(material.json).toMatchObject({ kind: 'vault', mcpUrl: `${url}/vault/alpha/mcp` });
    const token = material.json.token as string;
    const used = await whoami('alpha', token);
    expect(used.status).toBe(200);
    expect(used.text).toContain('vault:alpha:read');
    expect(used.text).toContain('agent:scout');
    expect((await whoami('beta', token)).status).toBe(401);
    const list = await agentModule('GET', '/admin/grants');
    expect(list.text).not.toContain(token);
    // Recorded, so it can be listed and revoked like every long-lived mint.
    const tokens = (await agentModule('GET', '/api/auth/tokens')).json.tokens as {
      created_via: string;
    }[];
    expect(tokens.filter((t) => t.created_via === 'agent_grant').length).toBe(1);
  });

  test('reconciling it away ends its token; the vault refuses it', async () => {
    const token = (await agentModule('GET', `/admin/grants/${id}/material`)).json.token as string;
    const writes = await agentModule('PUT', '/admin/grants', {
      agent: 'scout',
      connection: { kind: 'vault', target: 'beta', access: 'write', tags: ['inbox'] },
    });
    expect(writes.status).toBe(201);
    const reconciled = await agentModule('POST', '/admin/grants/reconcile', {
      agent: 'scout',
      liveConnections: [{ kind: 'vault', target: 'beta', access: 'write', tags: ['inbox'] }],
    });
    expect(reconciled.status).toBe(200);
    expect(reconciled.json).toEqual({ pruned: 1, prunedIds: [id] });
    expect((await agentModule('GET', `/admin/grants/${id}/material`)).status).toBe(404);
    await waitFor('the vault to refuse the reconciled-away token', async () => {
      return (await whoami('alpha', token)).status === 401 || undefined;
    });
  });

  test('revoking an approved grant ends its token', async () => {
    const grant = (await agentModule('GET', '/admin/grants?agent=scout')).json.grants as {
      id: string;
    }[];
    const writeId = grant[0]?.id as string;
    expect((await approve(admin, writeId)).json.status).toBe('approved');
    const material = await agentModule('GET', `/admin/grants/${writeId}/material`);
    const token = material.json.token as string;
    const [, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims).toMatchObject({
      scope: 'vault:beta:write',
      aud: 'vault.beta',
      vault_scope: ['beta'],
      permissions: { scoped_tags: ['inbox'] },
    });
    const revoked = await admin.request('POST', `/admin/grants/${writeId}/revoke`, {}, samePage);
    expect(revoked.status).toBe(200);
    expect(revoked.json.status).toBe('revoked');
    expect((await agentModule('GET', `/admin/grants/${writeId}/material`)).status).toBe(409);
    await waitFor('the vault to refuse the revoked grant’s token', async () => {
      return (await whoami('beta', token)).status === 401 || undefined;
    });
  });

  test('bad asks get a clear 400; other kinds are not supported', async () => {
    const cases: [object, string][] = [
      [{ agent: 'scout', connection: { kind: 'service', target: 'x' } }, 'unsupported_kind'],
      [{ agent: 'scout', connection: { kind: 'vault', target: 'nope' } }, 'unknown_vault'],
      [{ agent: 'scout', connection: { ...readAlpha, access: 'admin' } }, 'invalid_request'],
      [{ agent: 'scout', connection: { ...readAlpha, tags: ['two words'] } }, 'invalid_request'],
      [{ agent: 'no spaces please', connection: readAlpha }, 'invalid_request'],
    ];
    for (const [body, error] of cases) {
      const res = await agentModule('PUT', '/admin/grants', body);
      expect(`${res.status} ${res.json.error}`).toBe(`400 ${error}`);
    }
    // Asking needs the host's authority: a user's session cannot.
    expect((await friend.put('/admin/grants')).status).toBe(403);
  });
});
