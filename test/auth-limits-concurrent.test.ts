import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN, ApiClient, setUpHub } from './helpers/api.ts';
import type { HubProcess } from './helpers/binary.ts';

// auth.md section 6: attempts in flight count, so a burst of concurrent
// guesses is limited exactly like a sequence. A 401 is an answer the hub
// gives only after it verified the guess (argon2 for passwords), a 429 one it
// gives without verifying: the count of 401s is the count of guesses checked.

const hubs: HubProcess[] = [];
afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGKILL');
});

// The hub trusts the loopback proxy, so each test speaks as its own visitor
// address (X-Forwarded-For) and one hub serves every scenario.
const via = (visitor: string) => ({ 'x-forwarded-for': visitor });

async function burst(
  n: number,
  send: (i: number) => Promise<{ status: number; headers: Headers }>,
): Promise<{ checked: number; limited: number; retryAfter: number[] }> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  return {
    checked: statuses.filter((s) => s === 401).length,
    limited: statuses.filter((s) => s === 429).length,
    retryAfter: answers
      .filter((a) => a.status === 429)
      .map((a) => Number(a.headers.get('retry-after'))),
  };
}

describe('sign-in limits under concurrency', () => {
  let url = '';
  beforeAll(async () => {
    const started = await setUpHub({ PARACHUTE_TRUSTED_PROXIES: '127.0.0.1, ::1' });
    hubs.push(started.hub);
    url = started.url;
  });

  test('50 concurrent wrong passwords for one account get 5 checked and 45 answered 429; then the right one is refused too', async () => {
    const attacker = new ApiClient(url);
    const from = via('198.51.100.10');
    const result = await burst(50, (i) =>
      attacker.post(
        '/api/auth/login',
        { username: 'admin', password: `wrong password ${i}` },
        from,
      ),
    );
    expect(result).toMatchObject({ checked: 5, limited: 45 });
    for (const seconds of result.retryAfter) {
      expect(seconds).toBeGreaterThan(14 * 60);
      expect(seconds).toBeLessThanOrEqual(15 * 60);
    }
    const right = await attacker.post('/api/auth/login', ADMIN, from);
    expect(right.status).toBe(429);
    expect(right.json.error).toBe('rate_limited');
    // The admin, from their own address, still signs in.
    expect(
      (await new ApiClient(url).post('/api/auth/login', ADMIN, via('203.0.113.7'))).status,
    ).toBe(200);
  });

  test('50 concurrent wrong current passwords (password change and 2FA disable) get 5 checked, then the right one is refused too', async () => {
    const from = via('198.51.100.20');
    const session = new ApiClient(url);
    expect((await session.post('/api/auth/login', ADMIN, from)).status).toBe(200);
    const result = await burst(50, (i) =>
      i % 2 === 0
        ? session.post(
            '/api/account/password',
            { current_password: `wrong password ${i}`, new_password: 'a brand new password' },
            from,
          )
        : session.post('/api/account/totp/disable', { password: `wrong password ${i}` }, from),
    );
    expect(result).toMatchObject({ checked: 5, limited: 45 });
    const right = await session.post(
      '/api/account/password',
      { current_password: ADMIN.password, new_password: 'a brand new password' },
      from,
    );
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('100 concurrent sign-ins for different usernames from one address get 60 checked, then that address is limited', async () => {
    const attacker = new ApiClient(url);
    const from = via('198.51.100.30');
    const result = await burst(100, (i) =>
      attacker.post(
        '/api/auth/login',
        { username: `user${i}`, password: 'some long password' },
        from,
      ),
    );
    expect(result).toMatchObject({ checked: 60, limited: 40 });
    const fresh = { username: 'fresh-name', password: 'some long password' };
    expect((await attacker.post('/api/auth/login', fresh, from)).status).toBe(429);
    // Another address is unaffected.
    expect((await attacker.post('/api/auth/login', fresh, via('198.51.100.31'))).status).toBe(401);
  });
});
