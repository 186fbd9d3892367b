import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { totpCode } from '../src/auth/totp.ts';
import { ANONYMOUS, prune, queryAudit, RETENTION, record } from '../src/store/audit.ts';
import { openStore } from '../src/store/db.ts';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

type Entry = {
  id: number;
  at: string;
  actor: { id: string | null; name: string };
  ip: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
};

const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;

describe('the audit log, against a real hub', () => {
  const hubs = trackHubs();

  test('records each action with who, where and the outcome, never a secret; admins only', async () => {
    const { url, call, hub } = await hubWithOperator(hubs);
    const secrets: string[] = [
      ADMIN.password,
      (await Bun.file(join(hub.home, 'operator.token')).text()).trim(),
    ];
    const admin = new ApiClient(url);

    // Sign-ins: a wrong password, an unknown user, then the right one.
    const wrong = 'not the password 123';
    secrets.push(wrong);
    expect(
      (await admin.post('/api/auth/login', { username: 'admin', password: wrong })).status,
    ).toBe(401);
    expect(
      (await admin.post('/api/auth/login', { username: 'nobody', password: wrong })).status,
    ).toBe(401);
    // Guessing on: the sixth attempt at one account is rate-limited, and says so.
    for (let i = 0; i < 4; i++) {
      await admin.post('/api/auth/login', { username: 'nobody', password: wrong });
    }
    expect(
      (await admin.post('/api/auth/login', { username: 'nobody', password: wrong })).status,
    ).toBe(429);
    await admin.login(ADMIN.username, ADMIN.password);

    // Users: create, reset, a non-admin is refused the log, delete.
    const created = await admin.post('/api/users', { username: 'bob', role: 'user' });
    expect(created.status).toBe(201);
    const bobId = (created.json.user as { id: string }).id;
    secrets.push(created.json.temporary_password as string);
    const reset = await admin.post(`/api/users/${bobId}/reset-password`);
    secrets.push(reset.json.temporary_password as string);
    const bob = new ApiClient(url);
    await bob.login('bob', reset.json.temporary_password as string);
    expect((await bob.get('/api/audit')).status).toBe(403);
    const bobPassword = 'bob chose a long password';
    secrets.push(bobPassword);
    const changed = await bob.post('/api/account/password', {
      current_password: reset.json.temporary_password,
      new_password: bobPassword,
    });
    expect(changed.status).toBe(204);
    expect((await new ApiClient(url).get('/api/audit')).status).toBe(401);
    expect((await admin.delete(`/api/users/${bobId}`)).status).toBe(204);

    // A module: install (operator), stop and start (admin session).
    expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
    await running(call, 'fx-good');
    expect((await admin.post('/api/modules/fx-good/stop')).status).toBe(200);
    expect((await admin.post('/api/modules/fx-good/start')).status).toBe(200);

    // Apps registered by DCR (anonymously): one approved, one denied.
    const register = (name: string) =>
      new ApiClient(url, { origin: null }).post('/oauth/register', {
        client_name: name,
        redirect_uris: ['http://127.0.0.1:9/callback'],
      });
    const approved = (await register('Audit One')).json.client_id as string;
    const denied = (await register('Audit Two')).json.client_id as string;
    expect(
      (await admin.post(`/api/oauth/clients/${encodeURIComponent(approved)}/approve`)).status,
    ).toBe(200);
    expect((await admin.post(`/api/oauth/clients/${encodeURIComponent(denied)}/deny`)).status).toBe(
      200,
    );

    expect((await admin.delete(`/api/oauth/clients/${encodeURIComponent(denied)}`)).status).toBe(
      204,
    );

    // A token: minted by the operator, revoked by the admin.
    const minted = await call('POST', '/api/auth/mint-token', {
      scope: 'fx-good:read',
      expires_in: 600,
    });
    expect(minted.status).toBe(200);
    secrets.push(minted.json.token as string);
    expect((await admin.post('/api/auth/revoke-token', { jti: minted.json.jti })).status).toBe(200);

    // Settings: the apps domain, then a module's isolation.
    expect(
      (await admin.put('/api/hub/apps-domain', { apps_domain: 'apps.example.test' })).status,
    ).toBe(200);
    expect((await admin.post('/api/modules/fx-good/isolation', { isolated: true })).status).toBe(
      200,
    );

    // The hub's own credentials, then a restart and an uninstall.
    expect((await admin.post('/api/hub/operator-token/rotate')).status).toBe(200);
    expect((await admin.post('/api/hub/signing-key/rotate')).status).toBe(200);
    secrets.push((await Bun.file(join(hub.home, 'operator.token')).text()).trim());
    expect((await admin.post('/api/modules/fx-good/restart')).status).toBe(200);
    expect((await admin.delete('/api/modules/fx-good')).status).toBe(200);

    const all = async (query = ''): Promise<Entry[]> => {
      const res = await admin.get(`/api/audit?${query}`);
      expect(res.status).toBe(200);
      return res.json.entries as Entry[];
    };
    // The install's outcome is recorded when the operation settles.
    await waitFor('the install outcome', async () =>
      (await all('action=module.install')).some((e) => e.outcome === 'success') ? true : undefined,
    );
    const entries = await all();
    const find = (action: string, outcome = 'success', actor?: string) => {
      const found = entries.find(
        (e) => e.action === action && e.outcome === outcome && (!actor || e.actor.name === actor),
      );
      if (!found)
        throw new Error(
          `no ${action} ${outcome} in ${JSON.stringify(entries.map((e) => e.action))}`,
        );
      expect(found.ip).toMatch(LOOPBACK);
      return found;
    };
    const adminId = (await admin.get('/api/auth/session')).json.user as { id: string };
    const asAdmin = { id: adminId.id, name: 'admin' };
    const failures = entries.filter((e) => e.action === 'auth.login.failed');
    expect(failures.map((e) => [e.actor.name, e.target, e.outcome])).toEqual([
      ['anonymous', 'nobody', 'denied'],
      ...Array(5).fill(['anonymous', 'nobody', 'failure']),
      ['anonymous', 'admin', 'failure'],
    ]);
    expect(failures[0]?.detail).toEqual({ reason: 'rate_limited' });
    expect(find('auth.login', 'success', 'admin').actor).toEqual(asAdmin);
    expect(find('user.create')).toMatchObject({ actor: asAdmin, target: 'bob' });
    expect(find('user.reset_password')).toMatchObject({ actor: asAdmin, target: 'bob' });
    expect(find('user.delete')).toMatchObject({ actor: asAdmin, target: 'bob' });
    expect(find('auth.login', 'success', 'bob').actor.id).toBe(bobId);
    expect(find('module.install', 'started').actor).toEqual({ id: 'operator', name: 'operator' });
    expect(find('module.install').actor.name).toBe('operator');
    expect(find('module.stop')).toMatchObject({
      actor: asAdmin,
      target: expect.stringContaining('good'),
    });
    expect(find('module.start')).toMatchObject({
      actor: asAdmin,
      target: expect.stringContaining('good'),
    });
    expect(find('app.register')).toMatchObject({ actor: { id: null, name: 'anonymous' } });
    expect(find('app.approve')).toMatchObject({ actor: asAdmin, target: approved });
    expect(find('app.deny')).toMatchObject({ actor: asAdmin, target: denied });
    expect(find('app.delete')).toMatchObject({ actor: asAdmin, target: denied });
    expect(find('account.password')).toMatchObject({ actor: { id: bobId, name: 'bob' } });
    expect(find('token.mint')).toMatchObject({
      actor: { name: 'operator' },
      target: minted.json.jti,
    });
    expect(find('token.revoke')).toMatchObject({ actor: asAdmin, target: minted.json.jti });
    expect(find('setting.apps_domain')).toMatchObject({
      actor: asAdmin,
      detail: { value: 'apps.example.test' },
    });
    expect(find('setting.isolation')).toMatchObject({
      actor: asAdmin,
      target: expect.stringContaining('good'),
      detail: { isolated: true },
    });
    expect(find('token.operator.rotate').actor).toEqual(asAdmin);
    expect(find('token.signing_key.rotate').actor).toEqual(asAdmin);
    expect(find('module.restart').actor).toEqual(asAdmin);
    expect(find('module.uninstall', 'started').actor).toEqual(asAdmin);
    expect(find('module.uninstall').actor).toEqual(asAdmin);
    // Newest first.
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => b - a));

    // Filters: an action group, an actor, text, a date range.
    expect((await all('action=module.')).every((e) => e.action.startsWith('module.'))).toBe(true);
    const byOperator = await all('actor=operator');
    expect(byOperator.length).toBeGreaterThan(0);
    expect(byOperator.every((e) => e.actor.name === 'operator')).toBe(true);
    expect((await all('q=Audit%20Two')).map((e) => e.target)).toContain(denied);
    expect(
      await all(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
    ).toEqual([]);
    expect((await admin.get('/api/audit?since=yesterday')).status).toBe(400);

    // No secret anywhere in the table: every column of every row.
    const db = new Database(join(hub.home, 'hub.db'), { readonly: true });
    const dump = JSON.stringify(db.query('SELECT * FROM audit_log').all());
    db.close();
    expect(dump).toContain('auth.login.failed');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(dump).not.toContain(secret);
    }
  }, 120_000);
});

describe('two-factor sign-in in the audit log', () => {
  const hubs = trackHubs();

  test('a wrong second factor is a failure of that user, the right one a sign-in; no code is kept', async () => {
    const { url, hub } = await hubWithOperator(hubs);
    const admin = new ApiClient(url);
    await admin.login(ADMIN.username, ADMIN.password);
    const secret = (await admin.post('/api/account/totp/setup')).json.secret as string;
    const first = totpCode(secret, Date.now());
    const enabled = await admin.post('/api/account/totp/enable', { code: first });
    expect(enabled.status).toBe(200);
    const browser = new ApiClient(url);
    const challenge = (await browser.post('/api/auth/login', ADMIN)).json.challenge as string;
    const wrong = first === '123456' ? '654321' : '123456';
    expect((await browser.post('/api/auth/login/totp', { challenge, code: wrong })).status).toBe(
      401,
    );
    const next = totpCode(secret, Date.now() + 30_000);
    expect((await browser.post('/api/auth/login/totp', { challenge, code: next })).status).toBe(
      200,
    );

    const entries = (await admin.get('/api/audit?action=auth.login')).json.entries as Entry[];
    expect(entries.map((e) => [e.action, e.actor.name, e.outcome, e.detail])).toEqual([
      ['auth.login', 'admin', 'success', { second_factor: true }],
      ['auth.login.failed', 'admin', 'failure', { reason: 'wrong_second_factor' }],
      ['auth.login', 'admin', 'success', null],
    ]);
    expect((await admin.get('/api/audit?action=account.totp')).json.entries).toMatchObject([
      { action: 'account.totp.enable', actor: { name: 'admin' }, outcome: 'success' },
    ]);
    const db = new Database(join(hub.home, 'hub.db'), { readonly: true });
    // Every text column (not the times, where six digits could turn up by chance).
    const dump = JSON.stringify(
      db
        .query('SELECT actor_id, actor_name, ip, action, target, outcome, detail FROM audit_log')
        .all(),
    );
    db.close();
    for (const secretText of [secret, first, next, ...(enabled.json.backup_codes as string[])]) {
      expect(dump).not.toContain(secretText);
    }
  }, 60_000);
});

describe('audit store', () => {
  const fresh = () => openStore(join(mkdtempSync(join(tmpdir(), 'parachute-audit-')), 'hub.db'));
  const entry = {
    actor: ANONYMOUS,
    ip: '10.0.0.1',
    action: 'auth.login.failed',
    outcome: 'failure',
  } as const;

  test('retention drops entries past the window and beyond the row cap', () => {
    const db = fresh();
    const now = Date.UTC(2026, 0, 100);
    record(db, { ...entry, target: 'old' }, now - 91 * 86_400_000);
    for (let i = 0; i < 5; i++) record(db, { ...entry, target: `t${i}` }, now);
    prune(db, now, { ...RETENTION, maxRows: 3 });
    const left = queryAudit(db, {}).entries.map((e) => e.target);
    expect(left).toEqual(['t4', 't3', 't2']);
  });

  test('recording prunes by itself every few hundred inserts', () => {
    const db = fresh();
    const now = Date.now();
    record(db, { ...entry, target: 'ancient' }, now - 200 * 86_400_000);
    for (let i = 0; i < RETENTION.pruneEvery; i++) record(db, entry, now);
    expect(queryAudit(db, { q: 'ancient' }).entries).toEqual([]);
  });

  test('pages newest first by cursor, and drops secret-looking detail keys', () => {
    const db = fresh();
    for (let i = 0; i < 120; i++) {
      record(db, { ...entry, target: `t${i}`, detail: { n: i, password: 'hunter2', token: 'x' } });
    }
    record(db, {
      ...entry,
      target: 'https://me:s3cret-pw@example.com/x.tgz',
      detail: { error: 'GET https://me:s3cret-pw@example.com/x.tgz: 401' },
    });
    const withUrl = queryAudit(db, { limit: 1 }).entries[0];
    expect(withUrl?.target).toBe('https://example.com/x.tgz');
    expect(withUrl?.detail).toEqual({ error: 'GET https://example.com/x.tgz: 401' });
    const first = queryAudit(db, { cursor: withUrl?.id });
    expect(first.entries).toHaveLength(50);
    expect(first.entries[0]?.target).toBe('t119');
    expect(first.entries[0]?.detail).toEqual({ n: 119 });
    const second = queryAudit(db, { cursor: Number(first.next_cursor) });
    expect(second.entries[0]?.target).toBe('t69');
    const third = queryAudit(db, { cursor: Number(second.next_cursor) });
    expect(third.entries).toHaveLength(20);
    expect(third.next_cursor).toBeNull();
  });
});
