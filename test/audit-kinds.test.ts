// The audit entries beyond sign-ins, users, apps, tokens and module
// operations (test/audit.test.ts): a module's settings, an uploaded
// install, sign out everywhere, the setup's first admin, renewed backup
// codes, agent grants and connection renewals. Each with who, from where and what; never a value.
import { Database } from 'bun:sqlite';
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { totpCode } from '../src/auth/totp.ts';
import { ADMIN, ApiClient, setUpHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  running,
  trackHubs,
  uploadModule,
} from './helpers/modules.ts';

interface Entry {
  actor: { id: string | null; name: string };
  ip: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;
const hubs = trackHubs();

/** The entries with `action` (exactly), newest first, read by an admin. */
async function entries(admin: ApiClient, action: string): Promise<Entry[]> {
  const res = await admin.get(`/api/audit?action=${encodeURIComponent(action)}`);
  expect(res.status).toBe(200);
  return (res.json.entries as Entry[]).filter((e) => e.action === action);
}

/** Waits for the newest entry with `action` and `outcome` (and `also`); checks it came from loopback. */
async function newest(
  admin: ApiClient,
  action: string,
  outcome = 'success',
  also: (e: Entry) => boolean = () => true,
): Promise<Entry> {
  const found = await waitFor(`${action} ${outcome}`, async () =>
    (await entries(admin, action)).find((e) => e.outcome === outcome && also(e)),
  );
  expect(found.ip).toMatch(LOOPBACK);
  return found;
}

/** Every column of every audit row, to look for a secret in. */
function dump(home: string): string {
  const db = new Database(join(home, 'hub.db'), { readonly: true });
  try {
    return JSON.stringify(db.query('SELECT * FROM audit_log').all());
  } finally {
    db.close();
  }
}

describe('a new hub', () => {
  test('its setup records the first admin; sign out everywhere is recorded too', async () => {
    const { hub, url, admin } = await setUpHub();
    hubs.push(hub);
    const me = (await admin.get('/api/auth/session')).json.user as { id: string };
    expect(await newest(admin, 'user.create')).toMatchObject({
      actor: { id: me.id, name: ADMIN.username },
      target: ADMIN.username,
      detail: { role: 'admin', via: 'setup' },
    });

    // Signed in on a second device, then "sign out everywhere else" from the first.
    const phone = new ApiClient(url);
    await phone.login(ADMIN.username, ADMIN.password);
    expect((await admin.post('/api/account/sessions/revoke-others')).status).toBe(204);
    expect((await phone.get('/api/auth/session')).status).toBe(401);
    expect(await newest(admin, 'account.sessions.revoke')).toMatchObject({
      actor: { id: me.id, name: ADMIN.username },
      target: ADMIN.username,
    });
    expect(dump(hub.home)).not.toContain(ADMIN.password);
  }, 60_000);
});

describe('backup codes', () => {
  test('renewing them takes the password, is recorded, and only the new codes sign in', async () => {
    const { url, hub, call } = await hubWithOperator(hubs);
    const admin = new ApiClient(url);
    await admin.login(ADMIN.username, ADMIN.password);
    // A person's own browser session only: not without the CSRF header, not with a token.
    const noCsrf = new ApiClient(url, { csrf: false });
    await noCsrf.login(ADMIN.username, ADMIN.password);
    const body = { password: ADMIN.password };
    expect((await noCsrf.post('/api/account/totp/backup-codes', body)).status).toBe(403);
    expect((await call('POST', '/api/account/totp/backup-codes', body)).status).toBe(401);
    // Not before two-factor is on.
    const early = await admin.post('/api/account/totp/backup-codes', { password: ADMIN.password });
    expect(early.status).toBe(409);
    const secret = (await admin.post('/api/account/totp/setup')).json.secret as string;
    const enabled = await admin.post('/api/account/totp/enable', {
      code: totpCode(secret, Date.now()),
    });
    const old = enabled.json.backup_codes as string[];

    const wrong = await admin.post('/api/account/totp/backup-codes', {
      password: 'not the password at all',
    });
    expect(wrong.status).toBe(401);
    expect(await newest(admin, 'account.backup_codes', 'failure')).toMatchObject({
      actor: { name: ADMIN.username },
      target: ADMIN.username,
    });
    const renewed = await admin.post('/api/account/totp/backup-codes', {
      password: ADMIN.password,
    });
    expect(renewed.status).toBe(200);
    const fresh = renewed.json.backup_codes as string[];
    expect(fresh.length).toBeGreaterThan(0);
    expect(await newest(admin, 'account.backup_codes')).toMatchObject({
      actor: { name: ADMIN.username },
      target: ADMIN.username,
      detail: null,
    });

    // Signing in: an old code is refused, a new one works.
    const signIn = async (code: string) => {
      const browser = new ApiClient(url);
      const challenge = (await browser.post('/api/auth/login', ADMIN)).json.challenge as string;
      return (await browser.post('/api/auth/login/totp', { challenge, code })).status;
    };
    expect(await signIn(old[0] as string)).toBe(401);
    expect(await signIn(fresh[0] as string)).toBe(200);
    const text = dump(hub.home);
    for (const code of [...old, ...fresh]) expect(text).not.toContain(code);
  }, 60_000);
});

describe('modules, grants and connections', () => {
  let url: string;
  let home: string;
  let operator: OperatorCall;
  let admin: ApiClient;

  beforeAll(async () => {
    const started = await hubWithOperator(hubs);
    ({ url, call: operator } = started);
    home = started.hub.home;
    for (const fixture of ['vault', 'surface']) {
      expect((await install(operator, { package: await packFixture(fixture) })).state).toBe(
        'succeeded',
      );
    }
    await running(operator, 'fx-vault');
    await running(operator, 'fx-surface');
    admin = new ApiClient(url);
    await admin.login(ADMIN.username, ADMIN.password);
  }, 180_000);

  test('an uploaded install is named by the module it turned out to be', async () => {
    const sent = await uploadModule(url, admin, Bun.file(await packFixture('good')));
    expect(sent.status).toBe(202);
    const ours = (e: Entry) => e.detail?.operation_id === sent.json.operation_id;
    const done = await newest(admin, 'module.install', 'success', ours);
    expect(done).toMatchObject({
      actor: { name: ADMIN.username },
      target: 'parachute-fixture-good',
    });
    // Before the package was read, the entry could only say what arrived.
    const started = await newest(admin, 'module.install', 'started', ours);
    expect(started).toMatchObject({ actor: { name: ADMIN.username }, target: 'uploaded .tgz' });
  }, 90_000);

  test('a module setting change names the keys set and removed, never a value', async () => {
    const value = 'a value that must never be logged 42';
    const put = await admin.put('/api/modules/fx-vault/env', {
      values: { API_SECRET: value, OLD_KEY: null },
    });
    expect(put.status).toBe(200);
    expect(await newest(admin, 'module.env')).toMatchObject({
      actor: { name: ADMIN.username },
      target: expect.stringContaining('vault'),
      detail: { set: ['API_SECRET'], removed: ['OLD_KEY'] },
    });
    // Refused input is a failure, with nothing of what was sent.
    const bad = await admin.put('/api/modules/fx-vault/env', { values: { 'NOT A KEY': value } });
    expect(bad.status).toBe(400);
    const failed = await newest(admin, 'module.env', 'failure');
    expect(failed.detail).toBeNull();
    expect(dump(home)).not.toContain(value);
  }, 60_000);

  test('agent grants: asked by the agent module, approved and revoked by an admin, pruned', async () => {
    const samePage = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
    const asked = await operator('PUT', '/admin/grants', {
      agent: 'scout',
      connection: { kind: 'vault', target: 'alpha', access: 'read' },
    });
    expect(asked.status).toBe(201);
    const id = asked.json.id as string;
    const described = { agent: 'scout', vault: 'alpha', access: 'read' };
    expect(await newest(admin, 'grant.request')).toMatchObject({
      actor: { name: 'operator' },
      target: id,
      detail: described,
    });
    const approved = await admin.request('POST', `/admin/grants/${id}/approve`, {}, samePage);
    expect(approved.status).toBe(200);
    expect(await newest(admin, 'grant.approve')).toMatchObject({
      actor: { name: ADMIN.username },
      target: id,
      detail: described,
    });
    const revoked = await admin.request('POST', `/admin/grants/${id}/revoke`, {}, samePage);
    expect(revoked.status).toBe(200);
    expect(await newest(admin, 'grant.revoke')).toMatchObject({
      actor: { name: ADMIN.username },
      target: id,
    });
    // The agent no longer runs it: reconciling prunes it, on the module's authority.
    const pruned = await operator('POST', '/admin/grants/reconcile', {
      agent: 'scout',
      liveConnections: [],
    });
    expect(pruned.json.prunedIds).toEqual([id]);
    expect(await newest(admin, 'grant.prune')).toMatchObject({
      actor: { name: 'operator' },
      target: id,
      detail: { agent: 'scout' },
    });
    // The approved grant's token is in no column.
    expect(dump(home)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  }, 60_000);

  test('a connection renewal is recorded for the module that holds it; a refused one as anonymous', async () => {
    const linked = await operator('POST', '/admin/connections', {
      kind: 'credential',
      credential: { module: 'fx-surface', key: 'vault', vault: 'alpha' },
    });
    expect(linked.status).toBe(200);
    const id = (linked.json.connection as { id: string }).id;
    const renewed = (await (
      await fetch(`${url}/fx-surface/api/renew?connection=${id}`, { method: 'POST' })
    ).json()) as { status: number };
    expect(renewed.status).toBe(200);
    expect(await newest(admin, 'connection.renew')).toMatchObject({
      actor: { id: null, name: expect.stringContaining('surface') },
      target: id,
    });
    const refused = await new ApiClient(url, { origin: null }).post(
      `/admin/connections/${id}/renew`,
      {},
      { authorization: 'Bearer not.a.token' },
    );
    expect(refused.status).toBe(401);
    expect(await newest(admin, 'connection.renew', 'failure')).toMatchObject({
      actor: { id: null, name: 'anonymous' },
      target: id,
      detail: { status: 401 },
    });
    expect(dump(home)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  }, 60_000);
});
