// Vault instances (issue 15 point 2; upstream's POST /vaults and
// DELETE /vaults/<name>): the hub drives the vault module's own CLI, waits
// for the new mount, and on delete first takes away everything it granted
// on the vault (recorded tokens, OAuth sign-ins, codes, consent grants, user
// assignments, open consent requests, connections), so that afterwards no
// token for it works and no row of hub.db names it.
import { Database } from 'bun:sqlite';
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { heldTarball, packFixture } from './helpers/fixtures.ts';
import {
  finishOperation,
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
let friendId: string;
const REDIRECT = 'http://127.0.0.1:9/callback';
const FRIEND_PASSWORD = 'another long enough password';

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  url = started.url;
  home = started.hub.home;
  call = started.call;
  for (const fixture of ['vault', 'surface']) {
    const op = await install(call, { package: await packFixture(fixture) });
    expect(op.state).toBe('succeeded');
  }
  await running(call, 'fx-vault');
  await running(call, 'fx-surface');
  admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  friendId = (created.json.user as { id: string }).id;
  friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  const changed = await friend.post('/api/account/password', {
    current_password: created.json.temporary_password,
    new_password: FRIEND_PASSWORD,
  });
  expect(changed.status).toBe(204);
}, 180_000);

/** What the hub offers and lists: scopes in its metadata, vaults in discovery. */
async function advertised(vault: string) {
  const as = (await call('GET', '/.well-known/oauth-authorization-server')).json;
  const discovery = (await call('GET', '/.well-known/parachute.json')).json;
  return {
    scope: (as.scopes_supported as string[]).includes(`vault:${vault}:read`),
    discovery: (discovery.vaults as { name: string }[]).some((v) => v.name === vault),
  };
}

async function revoked(jti: string): Promise<boolean> {
  const list = (await call('GET', '/.well-known/parachute-revocation.json')).json;
  return (list.jtis as string[]).includes(jti);
}

// --- An OAuth app, as a person's browser and the app itself drive it. ---

interface Pkce {
  verifier: string;
  challenge: string;
}

async function pkce(): Promise<Pkce> {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: Buffer.from(digest).toString('base64url') };
}

/** Opens the authorize URL as `person`: a code at once, or the consent request to answer. */
async function authorize(person: ApiClient, clientId: string, scope: string, p: Pkce) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope,
    state: 'st',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  });
  const res = await person.get(`/oauth/authorize?${q}`, { accept: 'text/html' });
  const location = res.headers.get('location') ?? '';
  expect(res.status).toBe(302);
  if (location.startsWith('/admin/consent?request=')) {
    return { request: new URL(location, url).searchParams.get('request') as string };
  }
  return { code: new URL(location).searchParams.get('code') as string };
}

/** Approves on the consent page; returns the code. */
async function approve(person: ApiClient, request: string): Promise<string> {
  const answer = await person.post(`/api/oauth/requests/${encodeURIComponent(request)}`, {
    decision: 'approve',
  });
  expect(answer.status).toBe(200);
  return new URL(answer.json.redirect as string).searchParams.get('code') as string;
}

async function tokenRequest(params: Record<string, string>) {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: res.status, json: (await res.json()) as Record<string, string> };
}

/** A person grants `scope` to the app: consent if asked, then the app's token exchange. */
async function signInApp(person: ApiClient, clientId: string, scope: string) {
  const p = await pkce();
  const started = await authorize(person, clientId, scope, p);
  const code = started.code ?? (await approve(person, started.request as string));
  const tokens = await tokenRequest({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: clientId,
    code_verifier: p.verifier,
  });
  expect(tokens.status).toBe(200);
  return tokens.json as { access_token: string; refresh_token: string };
}

function jtiOf(token: string): string {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload as string, 'base64url').toString()).jti;
}

/** Every row of every table of hub.db that mentions `text`, as `table: row`. */
function rowsNaming(text: string): string[] {
  const db = new Database(join(home, 'hub.db'), { readonly: true });
  try {
    const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    // The audit log is history, not authority: it keeps what was done with
    // the vault while it existed (and that it was deleted), and grants nothing.
    const authority = tables.filter(({ name }) => name !== 'audit_log');
    return authority.flatMap(({ name }) =>
      (db.query(`SELECT * FROM "${name}"`).all() as object[])
        .map((row) => `${name}: ${JSON.stringify(row)}`)
        .filter((line) => line.includes(text)),
    );
  } finally {
    db.close();
  }
}

describe('POST /vaults', () => {
  test('creates a vault through the vault module, routable at once, offered and discovered', async () => {
    expect(await advertised('gamma')).toEqual({ scope: false, discovery: false });
    const res = await call('POST', '/vaults', { name: 'gamma' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toMatchObject({
      name: 'gamma',
      url: `${url}/vault/gamma`,
      version: '1.0.0',
      token: '',
      token_guidance: expect.any(String),
      paths: { vault_dir: join(home, 'fx-vault') },
    });
    // The answer came once the hub routes the vault: no waiting for it.
    const prm = await fetch(`${url}/vault/gamma/.well-known/oauth-protected-resource`);
    expect(prm.status).toBe(200);
    expect(await advertised('gamma')).toEqual({ scope: true, discovery: true });
    // Again: it exists, nothing is created.
    const again = await call('POST', '/vaults', { name: 'gamma' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ name: 'gamma', url: `${url}/vault/gamma`, version: '1.0.0' });
  });

  test('an admin signed in (with CSRF) may too; names are checked as the vault checks them', async () => {
    const made = await admin.post('/vaults', { name: 'delta_2' });
    expect(made.status).toBe(201);
    for (const name of ['A', 'x', 'admin', 'list', '../x', 'a/b', 'a'.repeat(33), 7, '']) {
      const res = await call('POST', '/vaults', { name });
      expect(`${JSON.stringify(name)} ${res.status} ${res.json.error}`).toBe(
        `${JSON.stringify(name)} 400 invalid_request`,
      );
    }
    expect((await call('POST', '/vaults', {})).status).toBe(400);
  });

  test('refused without the host admin: signed out, a user, another site, a vault token', async () => {
    expect((await new ApiClient(url).post('/vaults', { name: 'eps' })).status).toBe(401);
    const user = await friend.post('/vaults', { name: 'eps' });
    expect(user.status).toBe(403);
    const crossSite = await admin.post(
      '/vaults',
      { name: 'eps' },
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    const noCsrf = await new ApiClient(url, { csrf: false }).request(
      'POST',
      '/vaults',
      { name: 'eps' },
      { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    );
    expect(noCsrf.status).toBe(403);
    const vaultAdmin = await call('POST', '/api/auth/mint-token', { scope: 'vault:alpha:admin' });
    const withVaultToken = await new ApiClient(url, { origin: null }).post(
      '/vaults',
      { name: 'eps' },
      { authorization: `Bearer ${vaultAdmin.json.token}` },
    );
    expect(withVaultToken.status).toBe(401);
    expect(await advertised('eps')).toEqual({ scope: false, discovery: false });
  });
});

describe('when the vault module fails or is busy', () => {
  test('a failing CLI is a 500 carrying its stderr, and nothing is created', async () => {
    const vaultsFile = join(home, 'fx-vault', 'vaults.json');
    const before = existsSync(vaultsFile) ? readFileSync(vaultsFile, 'utf8') : null;
    writeFileSync(vaultsFile, '{ not json');
    try {
      const res = await call('POST', '/vaults', { name: 'zeta' });
      expect(res.status).toBe(500);
      expect(res.json.error).toBe('server_error');
      expect(res.json.error_description).toContain('is not valid JSON');
    } finally {
      if (before === null) rmSync(vaultsFile);
      else writeFileSync(vaultsFile, before);
    }
    expect(await advertised('zeta')).toEqual({ scope: false, discovery: false });
  });

  test('while a module is being installed, vault changes get 409 naming the operation', async () => {
    // Its download is held: the install is certainly running while the vault calls are made.
    const tarball = await heldTarball('good');
    const accepted = await call('POST', '/api/modules/install', { package: tarball.url });
    expect(accepted.status).toBe(202);
    await tarball.asked;
    const busy = await call('POST', '/vaults', { name: 'zeta' });
    const busyDelete = await call('DELETE', '/vaults/beta', { confirm: 'beta' });
    tarball.release();
    const finished = await finishOperation(call, accepted);
    tarball.server.stop(true);
    expect({ state: finished.state, error: finished.error }).toEqual({
      state: 'succeeded',
      error: undefined,
    });
    // Not needed past this test: its port is left for the other test files.
    expect((await call('DELETE', '/api/modules/fx-good')).status).toBe(200);
    for (const res of [busy, busyDelete]) {
      expect(`${res.status} ${res.text}`).toStartWith('409');
      expect(res.json.error).toBe('operation_in_progress');
      expect(res.json.operation_id).toBe(accepted.json.operation_id);
    }
    expect(await advertised('zeta')).toEqual({ scope: false, discovery: false });
    expect(await advertised('beta')).toEqual({ scope: true, discovery: true });
  });
});

describe('DELETE /vaults/:name', () => {
  test('takes away every token, grant, assignment, request and connection naming the vault', async () => {
    // Artifacts on gamma, made the ways people make them.
    const minted = await call('POST', '/api/auth/mint-token', { scope: 'vault:gamma:read' });
    expect(minted.status).toBe(200);
    const registered = await call('POST', '/oauth/register', {
      client_name: 'Notes app',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
    });
    expect(`${registered.status} ${registered.text}`).toStartWith('201');
    const clientId = registered.json.client_id as string;
    // The admin's grant names alpha and gamma: it is rewritten, and alpha keeps working.
    const onAlpha = await signInApp(admin, clientId, 'vault:alpha:read');
    const onGamma = await signInApp(admin, clientId, 'vault:gamma:read');
    // A code issued and not yet redeemed, and a consent request left open.
    const unused = await pkce();
    const pendingCode = (await authorize(admin, clientId, 'vault:gamma:read', unused)).code;
    expect(pendingCode).toBeString();
    const open = (await authorize(admin, clientId, 'vault:gamma:write', await pkce())).request;
    expect(open).toBeString();
    // The friend may grant gamma, and did: their grant names only gamma, so it goes.
    expect(
      (await admin.put(`/api/users/${friendId}/vaults`, { vaults: ['alpha', 'gamma'] })).status,
    ).toBe(200);
    const friendsApp = await signInApp(friend, clientId, 'vault:gamma:read');
    const linked = await call('POST', '/admin/connections', {
      kind: 'credential',
      credential: { module: 'fx-surface', key: 'vault', vault: 'gamma' },
    });
    expect(linked.status).toBe(200);
    const credential = JSON.parse(
      readFileSync(
        join(home, 'fx-surface', 'credentials', 'cred-fx-surface-vault-gamma.credential.json'),
        'utf8',
      ),
    );
    // An agent's grant on gamma, approved by the admin.
    const asked = await call('PUT', '/admin/grants', {
      agent: 'scout',
      connection: { kind: 'vault', target: 'gamma' },
    });
    expect(asked.status).toBe(201);
    const approved = await admin.request(
      'POST',
      `/admin/grants/${asked.json.id}/approve`,
      {},
      {
        'sec-fetch-site': 'same-origin',
      },
    );
    expect(approved.json.status).toBe('approved');
    expect(rowsNaming('gamma').length).toBeGreaterThan(0);

    const res = await call('DELETE', '/vaults/gamma', { confirm: 'gamma' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ok: true,
      name: 'gamma',
      cascade: {
        // The minted token, the connection's credential, the agent's grant, two apps' sign-ins.
        tokens_revoked: 5,
        grants_rewritten: 1,
        grants_dropped: 1,
        user_vaults_removed: 1,
        invites_invalidated: 0,
        connections_torn_down: 1,
        orphaned_channels: [],
        vault_removed: true,
        module_restarted: false,
      },
    });

    // Nothing in hub.db names it any more; the revocation list holds the jtis.
    expect(rowsNaming('gamma')).toEqual([]);
    // The audit log keeps that it was deleted, and by whom.
    const audited = (await call('GET', '/api/audit?action=vault.delete')).json.entries as {
      target: string;
      outcome: string;
      actor: { name: string };
    }[];
    expect(audited[0]).toMatchObject({
      target: 'gamma',
      outcome: 'success',
      actor: { name: 'operator' },
    });
    expect((await call('GET', '/admin/grants')).json.grants).toEqual([]);
    for (const token of [minted.json.token, onGamma.access_token, friendsApp.access_token]) {
      expect(await revoked(jtiOf(token as string))).toBe(true);
    }
    expect(await revoked(credential.jti)).toBe(true);
    // The apps' sign-ins are over; the admin's alpha sign-in is not.
    for (const refresh of [onGamma.refresh_token, friendsApp.refresh_token]) {
      const r = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: clientId,
      });
      expect(r.status).toBe(400);
    }
    const alphaStill = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: onAlpha.refresh_token,
      client_id: clientId,
    });
    expect(alphaStill.status).toBe(200);
    const code = await tokenRequest({
      grant_type: 'authorization_code',
      code: pendingCode as string,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: unused.verifier,
    });
    expect(code.status).toBe(400);
    expect((await admin.get(`/api/oauth/requests/${open}`)).status).toBe(404);
    const grants = (await call('GET', '/api/oauth/grants')).json.grants as { scopes: string[] }[];
    expect(grants.map((g) => g.scopes)).toEqual([['vault:alpha:read']]);
    expect((await call('GET', `/api/users/${friendId}/vaults`)).json.vaults).toEqual(['alpha']);
    // The connection is gone, and fx-surface was told.
    expect((await call('GET', '/admin/connections')).json.connections).toEqual([]);
    expect(
      existsSync(
        join(home, 'fx-surface', 'credentials', 'cred-fx-surface-vault-gamma.credential.json'),
      ),
    ).toBe(false);
    // The vault module no longer serves it, and the hub no longer routes or offers it.
    const vaults = JSON.parse(readFileSync(join(home, 'fx-vault', 'vaults.json'), 'utf8')).vaults;
    expect(vaults).not.toContain('gamma');
    expect((await fetch(`${url}/vault/gamma/.well-known/oauth-protected-resource`)).status).toBe(
      404,
    );
    expect(await advertised('gamma')).toEqual({ scope: false, discovery: false });
  });

  test('needs the name confirmed; an unknown vault is a 404; the last one is kept', async () => {
    for (const body of [{}, { confirm: 'alpha' }, { confirm: 'DELTA_2' }]) {
      const res = await call('DELETE', '/vaults/delta_2', body);
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('confirm_mismatch');
    }
    expect((await call('DELETE', '/vaults/nope', { confirm: 'nope' })).status).toBe(404);
    expect((await call('DELETE', '/vaults/Bad', { confirm: 'Bad' })).status).toBe(400);
    const user = await friend.request('DELETE', '/vaults/delta_2', { confirm: 'delta_2' });
    expect(user.status).toBe(403);
    for (const name of ['delta_2', 'beta']) {
      const res = await call('DELETE', `/vaults/${name}`, { confirm: name });
      expect(res.status).toBe(200);
    }
    const last = await call('DELETE', '/vaults/alpha', { confirm: 'alpha' });
    expect(last.status).toBe(409);
    expect(last.json.error).toBe('last_vault');
    expect(last.json.error_description).toContain('remove alpha --yes');
    expect((await fetch(`${url}/vault/alpha/.well-known/oauth-protected-resource`)).status).toBe(
      200,
    );
  });
});
