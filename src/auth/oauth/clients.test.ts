import { expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../store/db.ts';
import { clients } from './clients.ts';

test('at the cap, the oldest unapproved registrations nobody used give way; approved and used ones stay', () => {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'parachute-clients-')), 'hub.db'));
  const make = () => clients.create(db, { redirect_uris: ['http://127.0.0.1/cb'] }).client_id;
  const [approved, oldest, second, used, newest] = [make(), make(), make(), make(), make()];
  clients.setStatus(db, approved as string, 'approved');
  clients.touch(db, used as string);
  const status = (id: string | undefined) => clients.byId(db, id as string)?.status ?? 'gone';

  // 4 pending, room for one more under 4: the oldest unused one goes.
  expect(clients.evictOldestPending(db, 4)).toBe(1);
  expect([oldest, second, used, newest].map(status)).toEqual([
    'gone',
    'pending',
    'pending',
    'pending',
  ]);
  // Under the cap nothing goes.
  expect(clients.evictOldestPending(db, 10)).toBe(0);
  // A used registration is never evicted, even when it is the oldest left.
  expect(clients.evictOldestPending(db, 1)).toBe(2);
  expect([second, used, newest].map(status)).toEqual(['gone', 'pending', 'gone']);
  expect(status(approved)).toBe('approved');
});
