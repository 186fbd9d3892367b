import { expect, test } from 'bun:test';
import {
  addressKey,
  FAILURES_PER_ACCOUNT,
  FAILURES_PER_IP,
  LOGIN_WINDOW_MS,
  LoginRateLimiter,
} from './rate-limit.ts';

const t0 = 1_700_000_000_000;

test('an account is limited after 5 failures from one address, and free again when the window slides past', () => {
  const limiter = new LoginRateLimiter();
  for (let i = 0; i < FAILURES_PER_ACCOUNT; i++)
    limiter.recordFailure('10.0.0.1', 'Admin', t0 + i * 1000);
  expect(limiter.retryAfterSeconds('10.0.0.1', 'admin', t0 + 5000)).toBe(
    LOGIN_WINDOW_MS / 1000 - 5,
  );
  // Other addresses and other accounts are unaffected.
  expect(limiter.retryAfterSeconds('10.0.0.2', 'admin', t0 + 5000)).toBe(0);
  expect(limiter.retryAfterSeconds('10.0.0.1', 'bob', t0 + 5000)).toBe(0);
  // Once the oldest failure leaves the window, one more attempt is allowed.
  expect(limiter.retryAfterSeconds('10.0.0.1', 'admin', t0 + LOGIN_WINDOW_MS)).toBe(0);
});

test('an address is limited after 60 failures across usernames', () => {
  const limiter = new LoginRateLimiter();
  for (let i = 0; i < FAILURES_PER_IP; i++) limiter.recordFailure('10.0.0.9', `user${i}`, t0);
  expect(limiter.retryAfterSeconds('10.0.0.9', 'fresh-name', t0 + 1)).toBeGreaterThan(0);
});

test('a success clears that account’s failures from that address', () => {
  const limiter = new LoginRateLimiter();
  for (let i = 0; i < FAILURES_PER_ACCOUNT - 1; i++) limiter.recordFailure('10.0.0.1', 'admin', t0);
  limiter.recordSuccess('10.0.0.1', 'admin');
  limiter.recordFailure('10.0.0.1', 'admin', t0);
  expect(limiter.retryAfterSeconds('10.0.0.1', 'admin', t0)).toBe(0);
});

test('IPv6 addresses count by their /64, so rotating through a block does not escape the limit', () => {
  expect(addressKey('2001:db8:1:2::5')).toBe(addressKey('2001:0DB8:1:2:ffff:1:2:3'));
  expect(addressKey('2001:db8:1:2::5')).not.toBe(addressKey('2001:db8:1:3::5'));
  // IPv4, bare or as a dual-stack socket reports it, counts alone.
  expect(addressKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
  expect(addressKey('198.51.100.7')).not.toBe(addressKey('198.51.100.8'));
  const limiter = new LoginRateLimiter();
  for (let i = 0; i < FAILURES_PER_IP; i++) {
    limiter.recordFailure(`2001:db8:1:2::${i.toString(16)}`, `user${i}`, t0);
  }
  expect(limiter.retryAfterSeconds('2001:db8:1:2:aaaa::1', 'fresh-name', t0 + 1)).toBeGreaterThan(
    0,
  );
  expect(limiter.retryAfterSeconds('2001:db8:1:3::1', 'fresh-name', t0 + 1)).toBe(0);
});

/** A check that waits until the test settles it, counting how many checks ran. */
function heldChecks() {
  const settle: ((right: boolean) => void)[] = [];
  return {
    started: () => settle.length,
    check: () => new Promise<boolean>((resolve) => settle.push(resolve)),
    settleAll: (right: boolean) => {
      for (const s of settle.splice(0)) s(right);
    },
  };
}

test('guesses in flight count: of 50 concurrent guesses for one account only 5 are checked', async () => {
  const limiter = new LoginRateLimiter();
  const held = heldChecks();
  const guesses = Array.from({ length: 50 }, () => limiter.guess('10.0.0.1', 'admin', held.check));
  expect(held.started()).toBe(FAILURES_PER_ACCOUNT);
  held.settleAll(false);
  const outcomes = (await Promise.all(guesses)).map((g) => g.outcome);
  expect(outcomes.filter((o) => o === 'wrong')).toHaveLength(FAILURES_PER_ACCOUNT);
  expect(outcomes.filter((o) => o === 'limited')).toHaveLength(50 - FAILURES_PER_ACCOUNT);
  // The right password is not even checked now.
  expect((await limiter.guess('10.0.0.1', 'admin', () => true)).outcome).toBe('limited');
});

test('guesses in flight count per address: 100 concurrent guesses for different accounts get 60 checked', async () => {
  const limiter = new LoginRateLimiter();
  const held = heldChecks();
  const guesses = Array.from({ length: 100 }, (_, i) =>
    limiter.guess('10.0.0.2', `user${i}`, held.check),
  );
  expect(held.started()).toBe(FAILURES_PER_IP);
  held.settleAll(false);
  await Promise.all(guesses);
  expect(limiter.retryAfterSeconds('10.0.0.2', 'fresh-name')).toBeGreaterThan(0);
});

test('a right guess takes its reservation back; a check that throws stays a failure', async () => {
  const limiter = new LoginRateLimiter();
  for (let i = 0; i < FAILURES_PER_ACCOUNT - 1; i++) limiter.recordFailure('10.0.0.3', 'admin');
  // The fifth slot: a right guess (e.g. a password before its second factor) does not use it up.
  expect((await limiter.guess('10.0.0.3', 'admin', () => true)).outcome).toBe('right');
  expect(limiter.retryAfterSeconds('10.0.0.3', 'admin')).toBe(0);
  await expect(
    limiter.guess('10.0.0.3', 'admin', () => Promise.reject(new Error('boom'))),
  ).rejects.toThrow('boom');
  expect(limiter.retryAfterSeconds('10.0.0.3', 'admin')).toBeGreaterThan(0);
});
