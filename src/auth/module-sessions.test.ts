import { expect, test } from 'bun:test';
import { ModuleSessionCodes } from './module-sessions.ts';

test('a module sign-in code works once, for its module and state, within a minute', () => {
  const codes = new ModuleSessionCodes();
  const now = 1_000_000;
  const code = codes.issue('parent-hash', 'fx-ui', 'state-1', now);
  // Another module's origin, or another browser's state, gets nothing (and uses it up).
  expect(codes.take(code, 'fx-evil', 'state-1', now)).toBeNull();
  expect(codes.take(code, 'fx-ui', 'state-1', now)).toBeNull();

  const second = codes.issue('parent-hash', 'fx-ui', 'state-2', now);
  expect(codes.take(second, 'fx-ui', 'other-state', now)).toBeNull();

  const third = codes.issue('parent-hash', 'fx-ui', 'state-3', now);
  expect(codes.take(third, 'fx-ui', 'state-3', now + 1000)).toBe('parent-hash');
  expect(codes.take(third, 'fx-ui', 'state-3', now + 1000)).toBeNull();

  const late = codes.issue('parent-hash', 'fx-ui', 'state-4', now);
  expect(codes.take(late, 'fx-ui', 'state-4', now + 60_000)).toBeNull();
});
