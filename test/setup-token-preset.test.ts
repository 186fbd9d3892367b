/**
 * PARACHUTE_SETUP_TOKEN (a Fly secret that `parachute deploy fly` sets for a
 * new hub): the setup token is the one given, single use like the printed
 * one, and the log never shows it. A malformed one is ignored, with a
 * warning, for a random token printed as usual.
 */
import { expect, test } from 'bun:test';
import { ADMIN, ApiClient, bootstrapToken, freshHub } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');

test('a preset setup token claims the hub once and is never printed', async () => {
  const preset = `parachute-bootstrap-${random()}`;
  const { hub, url } = await freshHub({ PARACHUTE_SETUP_TOKEN: preset });
  hubs.push(hub);
  await waitFor('the setup banner', () =>
    hub.stdout().includes('given to it in PARACHUTE_SETUP_TOKEN') ? true : undefined,
  );
  expect(hub.stdout()).toContain(`${url}/admin/setup`);
  expect(hub.stdout()).not.toContain(preset);
  expect(hub.stdout()).not.toMatch(/parachute-bootstrap-[A-Za-z0-9_-]{43}/);
  // Another well-formed token is not it.
  const wrong = await new ApiClient(url).post('/api/setup', {
    bootstrap_token: `parachute-bootstrap-${random()}`,
    ...ADMIN,
  });
  expect(wrong.status).toBe(403);
  expect(wrong.json.error).toBe('invalid_bootstrap_token');
  const setup = await new ApiClient(url).post('/api/setup', { bootstrap_token: preset, ...ADMIN });
  expect(setup.status).toBe(201);
  // Used once, it is gone.
  const again = await new ApiClient(url).post('/api/setup', {
    bootstrap_token: preset,
    username: 'mallory',
    password: 'another long password',
  });
  expect(again.status).toBe(409);
  expect(again.json.error).toBe('already_set_up');
}, 60_000);

test('a malformed preset is ignored with a warning: a random token is printed and works', async () => {
  const { hub, url } = await freshHub({ PARACHUTE_SETUP_TOKEN: 'parachute-bootstrap-short' });
  hubs.push(hub);
  const token = await bootstrapToken(hub);
  expect(token).not.toBe('parachute-bootstrap-short');
  expect(hub.stderr()).toContain('PARACHUTE_SETUP_TOKEN is not `parachute-bootstrap-`');
  const refused = await new ApiClient(url).post('/api/setup', {
    bootstrap_token: 'parachute-bootstrap-short',
    ...ADMIN,
  });
  expect(refused.status).toBe(403);
  const setup = await new ApiClient(url).post('/api/setup', { bootstrap_token: token, ...ADMIN });
  expect(setup.status).toBe(201);
}, 60_000);
