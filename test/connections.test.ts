// Credential connections (issue 15 point 2; upstream's /admin/connections):
// the admin links a module to a vault, the hub mints a 90-day vault
// credential and delivers it to the endpoint the module's module.json
// declares; the module uses it against the vault through the hub, renews it
// by proving it holds it, and loses it when the connection goes. Real parts
// only: the compiled hub, fx-surface and fx-vault installed from tarballs,
// Chromium for the admin page that links.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { launchBrowser } from './helpers/browser.ts';
import { packFixture } from './helpers/fixtures.ts';
import { adminContext } from './helpers/module-attacks.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
let url: string;
let home: string;
let call: OperatorCall;
let admin: ApiClient;
let friend: ApiClient;
let browser: Browser;

/** A same-origin fetch from one of the hub's pages, as a browser sends it. */
const samePage = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
const READ_ID = 'cred-fx-surface-vault-alpha';

async function installModules(c: OperatorCall) {
  for (const fixture of ['vault', 'surface']) {
    const op = await install(c, { package: await packFixture(fixture) });
    expect(op.state).toBe('succeeded');
  }
  await running(c, 'fx-vault');
  await running(c, 'fx-surface');
}

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  call = started.call;
  await installModules(call);
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

/** fx-surface's stored copy of a credential, read as its files are (the module's own data). */
function heldBy(id: string): { token: string; jti: string; renew_path: string } {
  const file = join(home, 'fx-surface', 'credentials', `${id}.credential.json`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** fx-surface calls the vault's MCP whoami through the hub with its stored credential. */
async function surfaceCheck(id: string) {
  return (await fetch(`${url}/fx-surface/api/check?connection=${id}`)).json() as Promise<{
    status: number;
    ok: boolean;
    claims: Record<string, unknown> | null;
  }>;
}

/** The vault's answer to a whoami with `token`: 200, or 401 once it refuses it. */
async function vaultStatus(vault: string, token: string): Promise<number> {
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
  await res.text();
  return res.status;
}

async function revoked(jti: string): Promise<boolean> {
  const list = (await call('GET', '/.well-known/parachute-revocation.json')).json;
  return (list.jtis as string[]).includes(jti);
}

/** Recorded tokens of one connection, revoked ones too. */
async function tokensOf(id: string) {
  const all = (await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as {
    jti: string;
    connection_id: string | null;
    created_via: string;
    revoked_at: string | null;
  }[];
  return all.filter((t) => t.connection_id === id);
}

const link = (credential: object, extra: object = {}) =>
  call('POST', '/admin/connections', { kind: 'credential', credential, ...extra });

describe('linking in the browser', () => {
  test("fx-surface's admin page links it to vault alpha with the admin's session alone", async () => {
    const context = await adminContext(browser, url);
    const page = await context.newPage();
    await page.goto(`${url}/fx-surface/admin/`);
    await page.getByRole('button', { name: 'Link to vault' }).click();
    await page.waitForFunction(() => document.title !== 'fx-surface admin', undefined, {
      timeout: 20_000,
    });
    const shown = JSON.parse((await page.locator('#result').textContent()) ?? '{}');
    expect(shown.status).toBe(200);
    expect(await page.title()).toBe('linked');
    expect(shown.body.connection.id).toBe(READ_ID);
    expect(shown.body.connection.requested_by).toBe('fx-surface');
    expect(Date.parse(shown.body.expires_at) - Date.now()).toBeGreaterThan(89 * 24 * 3600 * 1000);
    await context.close();

    // fx-surface holds a read credential for alpha, and the vault accepts it.
    const check = await surfaceCheck(READ_ID);
    expect(check.status).toBe(200);
    expect(check.claims).toMatchObject({
      sub: 'connection',
      scope: 'vault:alpha:read',
      aud: 'vault.alpha',
      vault_scope: ['alpha'],
    });
    // Listed without the token, with the jti that is live.
    const listed = await call('GET', '/admin/connections');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(heldBy(READ_ID).token);
    const connections = listed.json.connections as Record<string, unknown>[];
    expect(connections).toEqual([
      {
        id: READ_ID,
        kind: 'credential',
        source: { module: 'vault', vault: 'alpha', event: 'credential' },
        sink: { module: 'fx-surface', action: 'credential.vault' },
        provisioned: {
          type: 'credential',
          vault: 'alpha',
          scope: 'vault:alpha:read',
          scopedTags: [],
          credentialKey: 'vault',
          endpoint: '/fx-surface/api/credential',
          mintedJtis: [heldBy(READ_ID).jti],
        },
        requested_by: 'fx-surface',
        created_at: expect.any(String),
      },
    ]);
    const recorded = await tokensOf(READ_ID);
    expect(recorded.map((t) => [t.jti, t.created_via])).toEqual([
      [heldBy(READ_ID).jti, 'connection_credential'],
    ]);
  });
});

describe('renewal', () => {
  test('the module renews with its credential; the old one ends, the new one works', async () => {
    const before = heldBy(READ_ID);
    const res = (await (
      await fetch(`${url}/fx-surface/api/renew?connection=${READ_ID}`, { method: 'POST' })
    ).json()) as { status: number; jti: string };
    expect(res.status).toBe(200);
    expect(res.jti).not.toBe(before.jti);
    expect(heldBy(READ_ID).jti).toBe(res.jti);
    expect(await revoked(before.jti)).toBe(true);
    expect((await surfaceCheck(READ_ID)).status).toBe(200);
    await waitFor('the vault to refuse the renewed-away credential', async () => {
      return (await vaultStatus('alpha', before.token)) === 401 || undefined;
    });
    // The old credential proves nothing any more.
    const again = await new ApiClient(url, { origin: null }).post(
      before.renew_path,
      {},
      { authorization: `Bearer ${before.token}` },
    );
    expect(again.status).toBe(401);
    expect(again.json.error).toBe('invalid_credential');
  });

  test('another token, even a valid one for the same vault, is refused', async () => {
    const api = new ApiClient(url, { origin: null });
    const other = await call('POST', '/api/auth/mint-token', { scope: 'vault:alpha:read' });
    expect(other.status).toBe(200);
    const path = `/admin/connections/${READ_ID}/renew`;
    const res = await api.post(path, {}, { authorization: `Bearer ${other.json.token}` });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('not_credential_holder');
    const garbage = await api.post(path, {}, { authorization: 'Bearer not.a.token' });
    expect(garbage.status).toBe(401);
    expect(garbage.json.error).toBe('invalid_credential');
    expect((await api.post(path, {})).status).toBe(401);
    const unknown = await api.post(
      '/admin/connections/nothing-here/renew',
      {},
      { authorization: `Bearer ${heldBy(READ_ID).token}` },
    );
    expect(unknown.status).toBe(404);
    // The connection still has exactly one live credential: the module's.
    const live = (await tokensOf(READ_ID)).filter((t) => t.revoked_at === null);
    expect(live.map((t) => t.jti)).toEqual([heldBy(READ_ID).jti]);
  });
});

describe('what cannot be linked', () => {
  test('bad requests get a clear 400 and leave nothing behind', async () => {
    const before = (await call('GET', '/admin/connections')).json.connections as unknown[];
    const tokensBefore = ((await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as [])
      .length;
    const cases: [object, string][] = [
      [{ module: 'fx-surface', key: 'vault-write', vault: 'alpha' }, 'invalid_request'],
      [{ module: 'fx-surface', key: 'vault-write', vault: 'alpha', tags: [] }, 'invalid_request'],
      [{ module: 'fx-surface', key: 'vault', vault: 'alpha', tags: [''] }, 'invalid_request'],
      [{ module: 'fx-surface', key: 'vault', vault: 'alpha', tags: [7] }, 'invalid_request'],
      [{ module: 'fx-nothing', key: 'vault', vault: 'alpha' }, 'unknown_module'],
      [{ module: 'fx-vault', key: 'vault', vault: 'alpha' }, 'unknown_credential'],
      [{ module: 'fx-surface', key: 'admin', vault: 'alpha' }, 'unknown_credential'],
      [{ module: 'fx-surface', key: 'vault', vault: 'nope' }, 'unknown_vault'],
      [{ module: 'fx-surface', key: 'vault', vault: '../alpha' }, 'invalid_request'],
      [{ module: 'fx-surface', vault: 'alpha' }, 'invalid_request'],
    ];
    for (const [credential, error] of cases) {
      const res = await link(credential);
      expect(`${JSON.stringify(credential)} ${res.status} ${res.json.error}`).toBe(
        `${JSON.stringify(credential)} 400 ${error}`,
      );
      expect(res.json.error_description).toBeString();
    }
    const writeUntagged = await link({ module: 'fx-surface', key: 'vault-write', vault: 'alpha' });
    expect(writeUntagged.json.error_description).toContain('tag');
    const badId = await link({ module: 'fx-surface', key: 'vault', vault: 'alpha' }, { id: 'A B' });
    expect(badId.status).toBe(400);
    // Event-to-action connections are not built: said so.
    const event = await call('POST', '/admin/connections', {
      source: { module: 'vault', vault: 'alpha', event: 'note.created' },
      sink: { module: 'fx-surface', action: 'x' },
    });
    expect(event.status).toBe(400);
    expect(event.json.error).toBe('unsupported_connection');
    expect((await call('GET', '/admin/connections')).json.connections).toEqual(before);
    expect(((await call('GET', '/api/auth/tokens?revoked=all')).json.tokens as []).length).toBe(
      tokensBefore,
    );
  });

  test('a write credential is limited to its tags', async () => {
    const res = await link({
      module: 'fx-surface',
      key: 'vault-write',
      vault: 'beta',
      tags: [' work ', 'work', 'home'],
    });
    expect(res.status).toBe(200);
    const id = 'cred-fx-surface-vault-write-beta';
    expect(res.json.connection).toMatchObject({ id, sink: { params: { tags: ['work', 'home'] } } });
    const check = await surfaceCheck(id);
    expect(check.status).toBe(200);
    expect(check.claims?.scope).toBe('vault:beta:write');
    const [, payload] = heldBy(id).token.split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims.permissions).toEqual({ scoped_tags: ['work', 'home'] });
    expect((await call('DELETE', `/admin/connections/${id}`)).status).toBe(200);
  });

  test('a module that refuses the credential gets nothing linked, and the token minted for it ends', async () => {
    const refuse = join(home, 'fx-surface', 'refuse-deliveries');
    mkdirSync(join(home, 'fx-surface'), { recursive: true });
    writeFileSync(refuse, '');
    try {
      const id = 'refused-link';
      const res = await link({ module: 'fx-surface', key: 'vault', vault: 'beta' }, { id });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ error: 'provision_failed', step: 'credential_delivery' });
      expect(res.json.error_description).toContain('503');
      const listed = (await call('GET', '/admin/connections')).json.connections as { id: string }[];
      expect(listed.some((c) => c.id === id)).toBe(false);
      const minted = await tokensOf(id);
      expect(minted.length).toBe(1);
      expect(minted[0]?.revoked_at).toBeString();
      expect(await revoked(minted[0]?.jti as string)).toBe(true);
    } finally {
      rmSync(refuse);
    }
  });

  test('re-linking the same id replaces the credential: one live token per connection', async () => {
    const first = heldBy(READ_ID);
    const res = await link({ module: 'fx-surface', key: 'vault', vault: 'alpha' });
    expect(res.status).toBe(200);
    const second = heldBy(READ_ID);
    expect(second.jti).not.toBe(first.jti);
    expect(await revoked(first.jti)).toBe(true);
    const live = (await tokensOf(READ_ID)).filter((t) => t.revoked_at === null);
    expect(live.map((t) => t.jti)).toEqual([second.jti]);
  });
});

describe('who may link', () => {
  const body = {
    kind: 'credential',
    credential: { module: 'fx-surface', key: 'vault', vault: 'beta' },
    id: 'intruder',
  };

  test('pages of other sites, non-admins, the signed-out and weak bearers are refused', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const res = await admin.request('POST', '/admin/connections', body, {
        'sec-fetch-site': site,
        origin: 'http://evil.example',
      });
      expect(res.status).toBe(403);
    }
    // A browser without Fetch Metadata: the foreign Origin alone is enough to refuse.
    const foreign = await admin.request('POST', '/admin/connections', body, {
      origin: 'http://evil.example',
    });
    expect(foreign.status).toBe(403);
    const noOrigin = await new ApiClient(url, { origin: null, csrf: false }).request(
      'POST',
      '/admin/connections',
      body,
      { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    );
    expect(noOrigin.status).toBe(403);
    const notAdmin = await friend.request('POST', '/admin/connections', body, samePage);
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.json.error).toBe('not_admin');
    expect((await friend.get('/admin/connections', samePage)).status).toBe(403);
    const signedOut = await new ApiClient(url).request(
      'POST',
      '/admin/connections',
      body,
      samePage,
    );
    expect(signedOut.status).toBe(401);
    const weak = await call('POST', '/api/auth/mint-token', { scope: 'vault:beta:admin' });
    const withWeak = await new ApiClient(url, { origin: null }).post('/admin/connections', body, {
      authorization: `Bearer ${weak.json.token}`,
    });
    expect(withWeak.status).toBe(401);
    const listed = (await call('GET', '/admin/connections')).json.connections as { id: string }[];
    expect(listed.some((c) => c.id === 'intruder')).toBe(false);
    // The same page, from the hub's origin, may.
    const own = await admin.request('GET', '/admin/connections', undefined, samePage);
    expect(own.status).toBe(200);
  });
});

describe('removing a connection', () => {
  test('revokes every token it minted; the module is told and the vault refuses them', async () => {
    const held = heldBy(READ_ID);
    const everyJti = (await tokensOf(READ_ID)).map((t) => t.jti);
    expect(everyJti.length).toBeGreaterThan(2);
    const res = await call('DELETE', `/admin/connections/${READ_ID}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ok: true, id: READ_ID });
    for (const jti of everyJti) expect(await revoked(jti)).toBe(true);
    // fx-surface was told and dropped its copy.
    const kept = (await (await fetch(`${url}/fx-surface/api/credentials`)).json()) as {
      credentials: { connection_id: string }[];
    };
    expect(kept.credentials.some((c) => c.connection_id === READ_ID)).toBe(false);
    await waitFor('the vault to refuse the removed credential', async () => {
      return (await vaultStatus('alpha', held.token)) === 401 || undefined;
    });
    expect((await call('GET', '/admin/connections')).json.connections).toEqual([]);
    expect((await call('DELETE', `/admin/connections/${READ_ID}`)).status).toBe(404);
  });
});

describe('when the module cannot be reached or refuses', () => {
  test('a stopped module gets nothing linked', async () => {
    expect((await call('POST', '/api/modules/fx-surface/stop')).json.state).toBe('stopped');
    try {
      const res = await link({ module: 'fx-surface', key: 'vault', vault: 'beta' }, { id: 'down' });
      expect(res.status).toBe(502);
      expect(res.json.step).toBe('credential_delivery');
      expect(res.json.error_description).toContain('could not be reached');
      expect((await tokensOf('down')).every((t) => t.revoked_at !== null)).toBe(true);
    } finally {
      await call('POST', '/api/modules/fx-surface/start');
      await running(call, 'fx-surface');
    }
    expect((await call('GET', '/admin/connections')).json.connections).toEqual([]);
  });

  test('removal the module refuses to hear of still revokes and deletes, and says so (207)', async () => {
    const res = await link({ module: 'fx-surface', key: 'vault', vault: 'beta' }, { id: 'deaf' });
    expect(res.status).toBe(200);
    const jti = heldBy('deaf').jti;
    const refuse = join(home, 'fx-surface', 'refuse-deliveries');
    writeFileSync(refuse, '');
    try {
      const gone = await call('DELETE', '/admin/connections/deaf');
      expect(gone.status).toBe(207);
      expect(gone.json).toMatchObject({ ok: false, id: 'deaf', partial: true });
      expect((gone.json.errors as { step: string }[]).map((e) => e.step)).toEqual([
        'credential_removal',
      ]);
    } finally {
      rmSync(refuse);
    }
    expect(await revoked(jti)).toBe(true);
    expect((await call('GET', '/admin/connections')).json.connections).toEqual([]);
  });
});

describe('uninstalling the module', () => {
  test('ends its connections: the credential left in its data folder is revoked', async () => {
    const res = await link({ module: 'fx-surface', key: 'vault', vault: 'beta' });
    expect(res.status).toBe(200);
    const id = 'cred-fx-surface-vault-beta';
    const held = heldBy(id);
    expect(await vaultStatus('beta', held.token)).toBe(200);
    const gone = await call('DELETE', '/api/modules/fx-surface');
    expect(gone.status).toBe(200);
    expect(await revoked(held.jti)).toBe(true);
    expect((await call('GET', '/admin/connections')).json.connections).toEqual([]);
    await waitFor('the vault to refuse the uninstalled module’s credential', async () => {
      return (await vaultStatus('beta', held.token)) === 401 || undefined;
    });
  });
});

describe("on a module's own origin", () => {
  let appsUrl: string;
  let appsCall: OperatorCall;
  /** One browser per module origin: each holds that module's own session. */
  let onVault: ApiClient;
  let onSurface: ApiClient;
  const port = () => new URL(appsUrl).port;
  const on = (module: string) => ({
    host: `${module}.apps.test:${port()}`,
    origin: `http://${module}.apps.test:${port()}`,
    ...samePage,
  });

  /** An admin's browser signed in to `module`'s origin, as test/module-session.test.ts does it. */
  async function signInTo(module: string): Promise<ApiClient> {
    const person = new ApiClient(appsUrl);
    await person.login(ADMIN.username, ADMIN.password);
    const start = await person.get(`/api/module-session/start?next=/`, { host: on(module).host });
    const authorize = new URL(start.headers.get('location') ?? '');
    const back = await person.get(authorize.pathname + authorize.search);
    const callback = new URL(back.headers.get('location') ?? '');
    const done = await person.get(callback.pathname + callback.search, { host: on(module).host });
    expect(done.status).toBe(302);
    return person;
  }

  beforeAll(async () => {
    const started = await hubWithOperator(hubs, { PARACHUTE_APPS_DOMAIN: 'apps.test' });
    appsUrl = started.url;
    appsCall = started.call;
    await installModules(appsCall);
    onVault = await signInTo('fx-vault');
    onSurface = await signInTo('fx-surface');
  }, 180_000);

  const surfaceLink = {
    kind: 'credential',
    credential: { module: 'fx-surface', key: 'vault', vault: 'alpha' },
  };

  test("another module's origin can neither link, list nor remove fx-surface's connections", async () => {
    const res = await onVault.request('POST', '/admin/connections', surfaceLink, on('fx-vault'));
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('wrong_module');
    // fx-surface's own origin may.
    const own = await onSurface.request(
      'POST',
      '/admin/connections',
      surfaceLink,
      on('fx-surface'),
    );
    expect(own.status).toBe(200);
    const id = (own.json.connection as { id: string }).id;
    const seen = await onSurface.request('GET', '/admin/connections', undefined, on('fx-surface'));
    expect((seen.json.connections as { id: string }[]).map((c) => c.id)).toEqual([id]);
    const hidden = await onVault.request('GET', '/admin/connections', undefined, on('fx-vault'));
    expect(hidden.status).toBe(200);
    expect(hidden.json.connections).toEqual([]);
    // Re-linking fx-surface's connection from fx-vault's origin is refused too.
    const hijack = await onVault.request(
      'POST',
      '/admin/connections',
      { ...surfaceLink, id },
      on('fx-vault'),
    );
    expect(hijack.status).toBe(403);
    const removed = await onVault.request(
      'DELETE',
      `/admin/connections/${id}`,
      undefined,
      on('fx-vault'),
    );
    expect(removed.status).toBe(403);
    const all = (await appsCall('GET', '/admin/connections')).json.connections as unknown[];
    expect(all.length).toBe(1);
    // Its admin UI is still never served there.
    const ui = await onSurface.request(
      'GET',
      `/admin/connections/${id}`,
      undefined,
      on('fx-surface'),
    );
    expect(ui.status).toBe(404);
    const mine = await onSurface.request(
      'DELETE',
      `/admin/connections/${id}`,
      undefined,
      on('fx-surface'),
    );
    expect(mine.status).toBe(200);
  });
});
