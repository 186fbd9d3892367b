import { expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/db.ts';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, sessions } from './sessions.ts';
import { users } from './users.ts';

function freshUser() {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'parachute-sessions-')), 'hub.db'));
  const user = users.create(db, {
    username: 'ann',
    passwordHash: 'x',
    role: 'admin',
    mustChangePassword: false,
  });
  return { db, user };
}

test('a session used within 14 days stays alive; 14 idle days end it and delete the row', () => {
  const { db, user } = freshUser();
  const { token } = sessions.create(db, user.id, {});
  const t0 = Date.now();
  expect(sessions.find(db, token, t0 + SESSION_IDLE_MS - 60_000)?.user.id).toBe(user.id);
  // That use moved last_seen forward, so another almost-14 days later it is still alive.
  expect(sessions.find(db, token, t0 + 2 * SESSION_IDLE_MS - 120_000)).not.toBeNull();
  expect(sessions.find(db, token, t0 + 3 * SESSION_IDLE_MS)).toBeNull();
  expect(db.query('SELECT COUNT(*) AS n FROM sessions').get()).toEqual({ n: 0 });
});

test('even a session in daily use ends after 90 days', () => {
  const { db, user } = freshUser();
  const { token } = sessions.create(db, user.id, {});
  const t0 = Date.now();
  for (let day = 1; day < 90; day++)
    expect(sessions.find(db, token, t0 + day * 86_400_000)).not.toBeNull();
  expect(sessions.find(db, token, t0 + SESSION_ABSOLUTE_MS + 1)).toBeNull();
});

test('the database stores only hashes of the session and CSRF secrets', () => {
  const { db, user } = freshUser();
  const { token, csrfToken } = sessions.create(db, user.id, {});
  const dump = JSON.stringify(db.query('SELECT * FROM sessions').all());
  expect(dump).not.toContain(token);
  expect(dump).not.toContain(csrfToken);
});

test("listForUser shows only that user's live sessions, and deleteForUser can keep one", () => {
  const { db, user } = freshUser();
  const other = users.create(db, {
    username: 'bea',
    passwordHash: 'x',
    role: 'user',
    mustChangePassword: false,
  });
  const kept = sessions.create(db, user.id, { ip: '10.0.0.1', userAgent: 'A' });
  sessions.create(db, user.id, { userAgent: 'B' });
  sessions.create(db, other.id, { userAgent: 'C' });
  expect(
    sessions
      .listForUser(db, user.id)
      .map((s) => s.user_agent)
      .sort(),
  ).toEqual(['A', 'B']);
  // Past the idle expiry a session is no longer listed.
  expect(sessions.listForUser(db, user.id, Date.now() + SESSION_IDLE_MS + 1)).toEqual([]);
  const keptHash = sessions.find(db, kept.token)?.session.id_hash;
  sessions.deleteForUser(db, user.id, keptHash);
  expect(sessions.listForUser(db, user.id).map((s) => s.ip)).toEqual(['10.0.0.1']);
  expect(sessions.listForUser(db, other.id).length).toBe(1);
});
