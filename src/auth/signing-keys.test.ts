import { expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/db.ts';
import { SigningKeys } from './signing-keys.ts';

test('a retired key is published until the last token it signed expires, then dropped', async () => {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'parachute-keys-')), 'hub.db'));
  const keys = new SigningKeys(db);
  await keys.ensureActive();
  const { kid: oldKid } = await keys.active();
  const now = Math.floor(Date.now() / 1000);
  // A 90-day operator token signed by the old key (upstream dropped keys after 24 h).
  keys.noteSigned(oldKid, now + 90 * 86_400);
  const newKid = await keys.rotate();
  expect((await keys.active()).kid).toBe(newKid);

  const kids = (at: number) => keys.jwks(at).keys.map((k) => k.kid);
  expect(kids(now)).toEqual([newKid, oldKid]);
  expect(kids(now + 89 * 86_400)).toEqual([newKid, oldKid]);
  expect(await keys.publicKey(oldKid, now + 89 * 86_400)).not.toBeNull();
  expect(kids(now + 90 * 86_400 + 1)).toEqual([newKid]);
  expect(await keys.publicKey(oldKid, now + 90 * 86_400 + 1)).toBeNull();
});

test('a retired key that signed nothing leaves the JWKS at once', async () => {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'parachute-keys-')), 'hub.db'));
  const keys = new SigningKeys(db);
  await keys.ensureActive();
  const newKid = await keys.rotate();
  expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
});

test('the first key is made once on first need, even when several ask for it at the same time', async () => {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'parachute-keys-')), 'hub.db'));
  const keys = new SigningKeys(db);
  expect(keys.jwks().keys).toEqual([]);
  const [a, b] = await Promise.all([keys.active(), keys.active(), keys.ensureActive()]);
  expect(a.kid).toBe(b.kid);
  expect(keys.jwks().keys.map((k) => k.kid)).toEqual([a.kid]);
  expect((db.query('SELECT COUNT(*) AS n FROM signing_keys').get() as { n: number }).n).toBe(1);
});
