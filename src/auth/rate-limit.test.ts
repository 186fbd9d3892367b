import { expect, test } from 'bun:test';
import {
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
