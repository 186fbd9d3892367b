/**
 * GET /api/setup/token and `parachute setup-token`: the bootstrap token of a
 * hub with no admin, read over loopback with the operator token (a file only
 * the hub's OS user and root can read), never from a log. Nobody else gets
 * it: a visitor, another hub's operator token, a signed-in session, a user's
 * or a module's token (issue 17 point 3).
 */
import { expect, test } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ApiClient, bootstrapToken, freshHub } from './helpers/api.ts';
import { runBinary } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { install, operatorClient, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();

const readToken = async (home: string) =>
  (await Bun.file(join(home, 'operator.token')).text()).trim();
const get = (url: string, headers: Record<string, string> = {}) =>
  new ApiClient(url, { origin: null }).get('/api/setup/token', headers);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('before setup the operator token reads the bootstrap token; nobody else does', async () => {
  const { hub, url, bin } = await freshHub();
  hubs.push(hub);
  const banner = await bootstrapToken(hub);
  // The hub writes the operator token at boot, also before an admin exists: owner-only.
  const tokenFile = join(hub.home, 'operator.token');
  expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  const operator = await readToken(hub.home);

  const answer = await get(url, bearer(operator));
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({ bootstrap_token: banner });
  expect(answer.headers.get('cache-control')).toBe('no-store');

  // The CLI prints it alone on stdout, so a script can take it.
  const cli = await runBinary(bin, ['setup-token'], { env: { PARACHUTE_HOME: hub.home } });
  expect(cli.code).toBe(0);
  expect(cli.stdout).toBe(`${banner}\n`);

  // A visitor, a made-up bearer, and another hub's genuine operator token get nothing.
  const visitor = await get(url);
  expect(visitor.status).toBe(401);
  expect(visitor.text).not.toContain('parachute-bootstrap-');
  expect((await get(url, bearer('parachute-bootstrap-guess'))).status).toBe(401);
  const other = await freshHub();
  hubs.push(other.hub);
  const foreign = await get(url, bearer(await readToken(other.hub.home)));
  expect(foreign.status).toBe(401);
  expect(foreign.text).not.toContain('parachute-bootstrap-');

  // Reading it never logs it: the banner stays the only place it appears.
  expect(hub.stdout().split(banner).length - 1).toBe(1);
  expect(hub.stderr()).not.toContain(banner);
});

test('once an admin exists there is no token: operator gets 409, sessions and other tokens are refused first', async () => {
  const { hub, url, bin } = await freshHub();
  hubs.push(hub);
  const before = await readToken(hub.home);
  const admin = new ApiClient(url);
  const setup = await admin.post('/api/setup', {
    bootstrap_token: (await get(url, bearer(before))).json.bootstrap_token,
    ...ADMIN,
  });
  expect(setup.status).toBe(201);

  // Setup replaced operator.token with the real operator token; the secret from before no longer works.
  const after = await readToken(hub.home);
  expect(after).not.toBe(before);
  expect((await get(url, bearer(before))).status).toBe(401);
  const done = await get(url, bearer(after));
  expect(done.status).toBe(409);
  expect(done.json.error).toBe('already_set_up');

  // A signed-in admin's session is not the operator: bearer only.
  expect((await admin.get('/api/setup/token')).status).toBe(401);
  // The admin's own host-admin token (aud hub, host:admin scope) is not the operator token.
  const pageHeaders = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
  const hostAdmin = (await admin.get('/admin/host-admin-token', pageHeaders)).json.token as string;
  expect(hostAdmin).toBeString();
  expect([401, 403]).toContain((await get(url, bearer(hostAdmin))).status);
  // Nor is a token minted for a module.
  const call = operatorClient(url, hub.home);
  const op = await install(call, { package: await packFixture('good') });
  expect(op.state).toBe('succeeded');
  const minted = await call('POST', '/api/auth/mint-token', { scope: 'fx-good:read' });
  expect(minted.status).toBe(200);
  expect([401, 403]).toContain((await get(url, bearer(minted.json.token as string))).status);

  const cli = await runBinary(bin, ['setup-token'], { env: { PARACHUTE_HOME: hub.home } });
  expect(cli.code).toBe(1);
  expect(cli.stderr).toContain('already has an admin');
  expect(cli.stderr).toContain(`Sign in at ${url}/login`);
});
