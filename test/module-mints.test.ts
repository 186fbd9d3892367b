// The hub's side of the module contract, mints (issue 15 point 1): the
// cookie-gated ten-minute mints module pages call with the operator's
// session, and POST /api/auth/mint-token for automation, which can only
// narrow what its bearer holds and records what it mints so it can be
// revoked. Every token is checked the way modules check them: against the
// JWKS, its audience and scope, and the revocation list.
import { beforeAll, describe, expect, test } from 'bun:test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
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
let call: OperatorCall;
let admin: ApiClient;
let friend: ApiClient;

/** A same-origin fetch from one of the hub's pages, as a browser sends it. */
const samePage = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  call = started.call;
  for (const fixture of ['mcp', 'vault']) {
    const op = await install(call, { package: await packFixture(fixture) });
    expect(op.state).toBe('succeeded');
  }
  await running(call, 'fx-mcp');
  await running(call, 'fx-vault');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  const changed = await friend.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: 'friend password, long enough',
  });
  expect(changed.status).toBe(204);
}, 120_000);

/** Verifies a hub token as a module does; returns its claims. */
async function verified(token: string, audience: string) {
  const jwks = createLocalJWKSet((await admin.get('/.well-known/jwks.json')).json as never);
  return (await jwtVerify(token, jwks, { audience, issuer: url })).payload;
}

async function revoked(jti: string): Promise<boolean> {
  const list = (await admin.get('/.well-known/parachute-revocation.json')).json;
  return (list.jtis as string[]).includes(jti);
}

describe('cookie-gated mints', () => {
  test('an admin page gets a ten-minute token for a module, in the shape modules verify', async () => {
    const res = await admin.get('/admin/module-token/fx-mcp', samePage);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json.scopes).toEqual(['fx-mcp:admin']);
    const claims = await verified(res.json.token as string, 'fx-mcp');
    expect(claims.scope).toBe('fx-mcp:admin');
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    expect(new Date(res.json.expires_at as string).getTime()).toBe((claims.exp as number) * 1000);
    expect(claims.jti).toBeString();
    // Page mints are not listed as tokens someone handed out.
    const listed = (await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as {
      jti: string;
    }[];
    expect(listed.some((t) => t.jti === claims.jti)).toBe(false);
  });

  test('a vault admin token names one vault; the vault module has no module-wide token', async () => {
    const res = await admin.get('/admin/vault-admin-token/alpha', samePage);
    expect(res.status).toBe(200);
    const claims = await verified(res.json.token as string, 'vault.alpha');
    expect(claims.scope).toBe('vault:alpha:admin');
    expect(claims.vault_scope).toEqual(['alpha']);
    expect((await admin.get('/admin/vault-admin-token/nope', samePage)).status).toBe(404);
    const whole = await admin.get('/admin/module-token/fx-vault', samePage);
    expect(whole.status).toBe(400);
    expect(whole.json.error).toBe('use_vault_admin_token');
  });

  test("the host token is the hub API's own: an admin page can call it with it", async () => {
    const res = await admin.get('/admin/host-admin-token', samePage);
    expect(res.status).toBe(200);
    const claims = await verified(res.json.token as string, 'hub');
    expect(claims.scope).toBe('parachute:host:admin parachute:host:auth');
    const users = await new ApiClient(url, { origin: null }).get('/api/users', {
      authorization: `Bearer ${res.json.token}`,
    });
    expect(users.status).toBe(200);
  });

  test('refused: signed out, not an admin, another site, an unknown module, a bearer token', async () => {
    const anonymous = await new ApiClient(url).get('/admin/module-token/fx-mcp', samePage);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/json');
    const notAdmin = await friend.get('/admin/host-admin-token', samePage);
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.json.error).toBe('not_admin');
    for (const site of ['cross-site', 'same-site']) {
      const res = await admin.get('/admin/module-token/fx-mcp', {
        'sec-fetch-site': site,
        origin: 'http://evil.example',
      });
      expect(res.status).toBe(403);
      expect(res.json.token).toBeUndefined();
    }
    // A browser without Fetch Metadata still sends Origin cross-origin.
    const foreign = await admin.get('/admin/module-token/fx-mcp', {
      origin: 'http://evil.example',
    });
    expect(foreign.status).toBe(403);
    const unknown = await admin.get('/admin/module-token/nothing-here', samePage);
    expect(unknown.status).toBe(404);
    // An OAuth or operator bearer never reaches these: they take the browser session only.
    const token = (await admin.get('/admin/host-admin-token', samePage)).json.token;
    const bearer = await new ApiClient(url, { origin: null }).get('/admin/module-token/fx-mcp', {
      authorization: `Bearer ${token}`,
    });
    expect(bearer.status).toBe(401);
  });
});

describe('POST /api/auth/mint-token', () => {
  test('the operator mints a module token that is recorded, listed, and ends when revoked', async () => {
    const res = await call('POST', '/api/auth/mint-token', {
      scope: 'fx-mcp:read',
      expires_in: 3600,
    });
    expect(res.status).toBe(200);
    expect(res.json.scope).toBe('fx-mcp:read');
    const claims = await verified(res.json.token as string, 'fx-mcp');
    expect(claims.jti).toBe(res.json.jti as string);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const listed = (await call('GET', '/api/auth/tokens')).json.tokens as Record<string, unknown>[];
    const row = listed.find((t) => t.jti === res.json.jti);
    expect(row).toMatchObject({
      scopes: ['fx-mcp:read'],
      created_via: 'mint_token',
      revoked_at: null,
    });
    const toolsList = () =>
      fetch(`${url}/fx-mcp/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${res.json.token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    expect((await toolsList()).status).toBe(200);
    const gone = await call('POST', '/api/auth/revoke-token', { jti: res.json.jti });
    expect(gone.status).toBe(200);
    expect(gone.json.revoked_at).toBeString();
    expect(await revoked(res.json.jti as string)).toBe(true);
    // The module, which re-reads the list every second, refuses it.
    await waitFor('fx-mcp to refuse the revoked token', async () => {
      return (await toolsList()).status === 401 || undefined;
    });
  });

  test('a vault admin token mints narrower tokens for its own vault only', async () => {
    const parent = await call('POST', '/api/auth/mint-token', { scope: 'vault:alpha:admin' });
    expect(parent.status).toBe(200);
    const asVault = new ApiClient(url, { origin: null });
    const as = { authorization: `Bearer ${parent.json.token}` };
    const child = await asVault.post(
      '/api/auth/mint-token',
      { scope: 'vault:alpha:read', permissions: { scoped_tags: ['work'] } },
      as,
    );
    expect(child.status).toBe(200);
    const claims = await verified(child.json.token as string, 'vault.alpha');
    expect(claims.permissions).toEqual({ scoped_tags: ['work'] });
    expect(claims.vault_scope).toEqual(['alpha']);
    for (const scope of ['vault:beta:read', 'fx-mcp:read']) {
      const wider = await asVault.post('/api/auth/mint-token', { scope }, as);
      expect(wider.status).toBe(403);
      expect(wider.json.error).toBe('insufficient_scope');
    }
    const otherSubject = await asVault.post(
      '/api/auth/mint-token',
      { scope: 'vault:alpha:read', subject: 'someone-else' },
      as,
    );
    expect(otherSubject.status).toBe(403);
    // Revoking the parent ends what was minted on its authority.
    expect((await call('POST', '/api/auth/revoke-token', { jti: parent.json.jti })).status).toBe(
      200,
    );
    expect(await revoked(child.json.jti as string)).toBe(true);
    const after = await asVault.post('/api/auth/mint-token', { scope: 'vault:alpha:read' }, as);
    expect(after.status).toBe(401);
  });

  test('what cannot be minted gets a clear 400 and nothing is recorded', async () => {
    const before = ((await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as []).length;
    const cases: [object, string][] = [
      [{ scope: 'parachute:host:admin' }, 'invalid_scope'],
      [{ scope: 'vault:read' }, 'invalid_scope'],
      [{ scope: 'vault:nope:read' }, 'invalid_scope'],
      [{ scope: 'fx-mcp:read vault:alpha:read' }, 'invalid_scope'],
      [{ scope: 'fx-mcp:read', audience: 'vault.alpha' }, 'invalid_request'],
      [{ scope: 'vault:alpha:read', permissions: { scoped_tags: [] } }, 'invalid_request'],
      [{ scope: 'fx-mcp:read', expires_in: 400 * 24 * 3600 }, 'invalid_request'],
    ];
    for (const [body, error] of cases) {
      const res = await call('POST', '/api/auth/mint-token', body);
      expect(`${JSON.stringify(body)} ${res.status} ${res.json.error}`).toBe(
        `${JSON.stringify(body)} 400 ${error}`,
      );
      expect(res.json.error_description).toBeString();
    }
    const after = ((await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as []).length;
    expect(after).toBe(before);
  });

  test('no bearer, a forged one, or one without minting authority cannot mint', async () => {
    const api = new ApiClient(url, { origin: null });
    expect((await api.post('/api/auth/mint-token', { scope: 'fx-mcp:read' })).status).toBe(401);
    const real = (await call('POST', '/api/auth/mint-token', { scope: 'fx-mcp:read' })).json
      .token as string;
    // The same signature over claims that say more.
    const [header, , signature] = real.split('.');
    const claims = { ...decodeJwt(real), scope: 'parachute:host:admin' };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const withForged = await api.post(
      '/api/auth/mint-token',
      { scope: 'fx-mcp:read' },
      { authorization: `Bearer ${forged}` },
    );
    expect(withForged.status).toBe(401);
    const weak = await api.post(
      '/api/auth/mint-token',
      { scope: 'fx-mcp:read' },
      { authorization: `Bearer ${real}` },
    );
    expect(weak.status).toBe(403);
    // Listing and revoking are the host's.
    expect((await api.get('/api/auth/tokens', { authorization: `Bearer ${real}` })).status).toBe(
      401,
    );
    expect((await friend.get('/api/auth/tokens')).status).toBe(403);
  });

  test('an account with a temporary password gets no token until it chooses its own', async () => {
    const created = await admin.post('/api/users', { username: 'newcomer', role: 'admin' });
    const newcomer = new ApiClient(url);
    await newcomer.login('newcomer', created.json.temporary_password as string);
    const res = await newcomer.get('/admin/host-admin-token', samePage);
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('password_change_required');
  });

  test('a password reset ends the tokens a person minted, page tokens too', async () => {
    const host = (await admin.get('/admin/host-admin-token', samePage)).json.token as string;
    const api = new ApiClient(url, { origin: null });
    const minted = await api.post(
      '/api/auth/mint-token',
      { scope: 'fx-mcp:read' },
      { authorization: `Bearer ${host}` },
    );
    expect(minted.status).toBe(200);
    const page = (await admin.get('/admin/module-token/fx-mcp', samePage)).json.token as string;
    const me = (await admin.get('/api/auth/session')).json.user as { id: string };
    const listed = (await call('GET', '/api/auth/tokens')).json.tokens as Record<string, unknown>[];
    expect(listed.find((t) => t.jti === minted.json.jti)?.user_id).toBe(me.id);
    const second = new ApiClient(url);
    await second.login(ADMIN.username, ADMIN.password);
    const reset = await second.post(`/api/users/${me.id}/reset-password`);
    expect(reset.status).toBe(200);
    expect(await revoked(minted.json.jti as string)).toBe(true);
    // So do the ten-minute page tokens: modules refuse them at once.
    expect(await revoked(decodeJwt(page).jti as string)).toBe(true);
  });
});
