import { afterAll, describe, expect, test } from 'bun:test';
import { totpCode } from '../src/auth/totp.ts';
import { ADMIN, ApiClient, setUpHub } from './helpers/api.ts';
import type { HubProcess } from './helpers/binary.ts';

const hubs: HubProcess[] = [];
afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGKILL');
});
const hub = async () => {
  const started = await setUpHub();
  hubs.push(started.hub);
  return started;
};

describe('login rate limit', () => {
  test('5 failures per account and address answer 429 with Retry-After, even for the right password', async () => {
    const { url } = await hub();
    const attacker = new ApiClient(url);
    for (let i = 0; i < 5; i++) {
      const res = await attacker.post('/api/auth/login', {
        username: 'admin',
        password: `wrong password ${i}`,
      });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('invalid_credentials');
    }
    const limited = await attacker.post('/api/auth/login', ADMIN);
    expect(limited.status).toBe(429);
    expect(limited.json.error).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another username from the same address is still allowed (per-account window).
    const other = await attacker.post('/api/auth/login', {
      username: 'someone',
      password: 'whatever long pw',
    });
    expect(other.status).toBe(401);
  });

  test('behind a trusted proxy, the limit is per visitor the proxy names, not per proxy', async () => {
    const started = await setUpHub({ PARACHUTE_TRUSTED_PROXIES: '127.0.0.1, ::1' });
    hubs.push(started.hub);
    // As Caddy on the same machine would send them: the visitor it saw, appended.
    const via = (visitor: string) => ({ 'x-forwarded-for': `10.9.9.9, ${visitor}` });
    const attacker = new ApiClient(started.url);
    for (let i = 0; i < 5; i++) {
      const res = await attacker.post(
        '/api/auth/login',
        { username: 'admin', password: `wrong password ${i}` },
        via('198.51.100.66'),
      );
      expect(res.status).toBe(401);
    }
    const limited = await attacker.post('/api/auth/login', ADMIN, via('198.51.100.66'));
    expect(limited.status).toBe(429);
    // The admin, another visitor behind the same proxy, still signs in.
    const admin = await new ApiClient(started.url).post(
      '/api/auth/login',
      ADMIN,
      via('203.0.113.5'),
    );
    expect(admin.status).toBe(200);
    // A hub that trusts no proxy counts the peer, whatever X-Forwarded-For says.
    const { url } = await hub();
    const direct = new ApiClient(url);
    for (let i = 0; i < 5; i++) {
      await direct.post(
        '/api/auth/login',
        { username: 'admin', password: `wrong password ${i}` },
        via(`198.51.100.${i}`),
      );
    }
    expect((await direct.post('/api/auth/login', ADMIN, via('203.0.113.5'))).status).toBe(429);
  });

  test('unknown users and wrong passwords look the same', async () => {
    const { url } = await hub();
    const a = await new ApiClient(url).post('/api/auth/login', {
      username: 'nobody',
      password: 'x'.repeat(12),
    });
    const b = await new ApiClient(url).post('/api/auth/login', {
      username: 'admin',
      password: 'x'.repeat(12),
    });
    expect(a.status).toBe(b.status);
    expect(a.json).toEqual(b.json);
  });
});

describe('users managed by the admin', () => {
  test('create with a temporary password, forced change, reset revokes sessions, delete', async () => {
    const { url, admin } = await hub();
    const created = await admin.post('/api/users', { username: 'alice' });
    expect(created.status).toBe(201);
    const temporary = created.json.temporary_password as string;
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    const id = (created.json.user as { id: string }).id;
    expect(created.json.user).toMatchObject({
      username: 'alice',
      role: 'user',
      password_change_required: true,
    });
    expect((await admin.post('/api/users', { username: 'ALICE' })).json.error).toBe(
      'username_taken',
    );

    // First login with the temporary password: the session says a change is required.
    const alice = new ApiClient(url);
    const login = await alice.login('alice', temporary);
    expect(login.json.user).toMatchObject({ password_change_required: true });
    expect(
      (
        await alice.post('/api/account/password', {
          current_password: 'nope nope nope',
          new_password: 'x'.repeat(12),
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await alice.post('/api/account/password', {
          current_password: temporary,
          new_password: 'short',
        })
      ).json.error,
    ).toBe('weak_password');
    expect(
      (
        await alice.post('/api/account/password', {
          current_password: temporary,
          new_password: 'alice’s own password',
        })
      ).status,
    ).toBe(204);
    expect((await alice.get('/api/auth/session')).json.user).toMatchObject({
      password_change_required: false,
    });

    // A plain user cannot use admin APIs.
    const forbidden = await alice.get('/api/users');
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error).toBe('insufficient_scope');

    // Reset: new temporary password, alice's sessions end, old password stops working.
    const reset = await admin.post(`/api/users/${id}/reset-password`);
    expect(reset.status).toBe(200);
    expect((await alice.get('/api/auth/session')).status).toBe(401);
    expect(
      (
        await new ApiClient(url).post('/api/auth/login', {
          username: 'alice',
          password: 'alice’s own password',
        })
      ).status,
    ).toBe(401);
    const again = await new ApiClient(url).login('alice', reset.json.temporary_password as string);
    expect(again.json.user).toMatchObject({ password_change_required: true });

    // Delete: gone, and so are her sessions.
    expect((await admin.delete(`/api/users/${id}`)).status).toBe(204);
    expect((await admin.get('/api/users')).json.users).toHaveLength(1);
    expect((await admin.delete(`/api/users/${id}`)).status).toBe(404);
  });

  test('the same name created twice at once: one user, and a 409 for the other', async () => {
    const { url } = await hub();
    const admin = new ApiClient(url);
    await admin.login(ADMIN.username, ADMIN.password);
    const answers = await Promise.all(
      [1, 2, 3].map(() => admin.post('/api/users', { username: 'twin', role: 'user' })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    expect(answers.find((a) => a.status === 409)?.json.error).toBe('username_taken');
    const list = (await admin.get('/api/users')).json.users as { username: string }[];
    expect(list.filter((u) => u.username === 'twin')).toHaveLength(1);
  });

  test('the admin cannot delete themselves or the last admin', async () => {
    const { admin } = await hub();
    const me = (await admin.get('/api/auth/session')).json.user as { id: string };
    const self = await admin.delete(`/api/users/${me.id}`);
    expect(self.status).toBe(409);
    expect(self.json.error).toBe('cannot_delete_self');
  });
});

describe('two-factor sign-in (TOTP)', () => {
  test('enrol, then sign in with a code; a used code and a wrong code are refused; backup codes work once', async () => {
    const { url, admin } = await hub();
    const setup = await admin.post('/api/account/totp/setup');
    expect(setup.status).toBe(200);
    const secret = setup.json.secret as string;
    expect(setup.json.otpauth_url).toContain(`secret=${secret}`);
    expect((await admin.post('/api/account/totp/enable', { code: '000000' })).json.error).toBe(
      'invalid_code',
    );
    const enabled = await admin.post('/api/account/totp/enable', {
      code: totpCode(secret, Date.now()),
    });
    expect(enabled.status).toBe(200);
    const backups = enabled.json.backup_codes as string[];
    expect(backups).toHaveLength(10);

    // Password alone no longer signs in: it yields a challenge.
    const browser = new ApiClient(url);
    const step1 = await browser.post('/api/auth/login', ADMIN);
    expect(step1.json).toMatchObject({ two_factor_required: true });
    expect(browser.cookies.has('parachute_session')).toBe(false);
    const challenge = step1.json.challenge as string;
    expect(
      (await browser.post('/api/auth/login/totp', { challenge, code: '123456' })).json.error,
    ).toBe('invalid_code');
    // The code used at enrolment is spent: the next step's code is needed (RFC 6238 §5.2).
    const next = totpCode(secret, Date.now() + 30_000);
    const ok = await browser.post('/api/auth/login/totp', { challenge, code: next });
    expect(ok.status).toBe(200);
    expect((await browser.get('/api/auth/session')).status).toBe(200);

    // The same code cannot sign in a second time.
    const replayer = new ApiClient(url);
    const c2 = (await replayer.post('/api/auth/login', ADMIN)).json.challenge as string;
    expect(
      (await replayer.post('/api/auth/login/totp', { challenge: c2, code: next })).json.error,
    ).toBe('invalid_code');
    // A backup code works, once.
    expect(
      (
        await replayer.post('/api/auth/login/totp', {
          challenge: c2,
          code: backups[0]?.toUpperCase(),
        })
      ).status,
    ).toBe(200);
    const third = new ApiClient(url);
    const c3 = (await third.post('/api/auth/login', ADMIN)).json.challenge as string;
    expect(
      (await third.post('/api/auth/login/totp', { challenge: c3, code: backups[0] })).status,
    ).toBe(401);
    // An unknown challenge is a clear error.
    expect(
      (await third.post('/api/auth/login/totp', { challenge: 'made-up', code: '123456' })).json
        .error,
    ).toBe('challenge_expired');

    // Disabling needs the password.
    expect(
      (await admin.post('/api/account/totp/disable', { password: 'wrong password!' })).status,
    ).toBe(401);
    expect(
      (await admin.post('/api/account/totp/disable', { password: ADMIN.password })).status,
    ).toBe(204);
    expect((await new ApiClient(url).post('/api/auth/login', ADMIN)).json.user).toMatchObject({
      totp_enabled: false,
    });
  });
});

describe('guessing through account routes', () => {
  test('wrong current passwords count toward the limit and end in 429 with Retry-After', async () => {
    const { admin } = await hub();
    for (let i = 0; i < 5; i++) {
      const res = await admin.post('/api/account/totp/disable', { password: `wrong guess ${i}!` });
      expect(res.status).toBe(401);
    }
    for (const [path, body] of [
      ['/api/account/totp/disable', { password: ADMIN.password }],
      [
        '/api/account/password',
        { current_password: ADMIN.password, new_password: 'a brand new password' },
      ],
    ] as const) {
      const res = await admin.post(path, body);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});
