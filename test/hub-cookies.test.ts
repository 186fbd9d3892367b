import { expect, test } from 'bun:test';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

// The hub's cookies and CSRF checks against what a module's page can do
// from a sibling host (modules.md section 7, auth.md section 6), against
// the real binary.

const hubs = trackHubs();

test('over https the cookies are __Host- cookies, and the plain names are not the session', async () => {
  const { url } = await hubWithOperator(hubs, { PARACHUTE_HUB_ORIGIN: 'https://hub.example.test' });
  const browser = new ApiClient(url);
  const login = await browser.login(ADMIN.username, ADMIN.password);
  const cookies = login.headers.getSetCookie();
  const session = cookies.find((c) => c.startsWith('__Host-parachute_session='));
  // What the prefix requires (RFC 6265bis 4.1.3.2): Secure, Path=/, no Domain.
  expect(session).toMatch(/; Secure/);
  expect(session).toMatch(/; Path=\/;/);
  expect(session).not.toMatch(/Domain/i);
  expect(cookies.find((c) => c.startsWith('__Host-parachute_csrf='))).toMatch(/; Secure/);
  expect(cookies.some((c) => c.startsWith('parachute_'))).toBe(false);

  expect((await browser.get('/api/auth/session')).status).toBe(200);
  // A CSRF-checked mutation with the prefixed cookie and its echo works.
  expect((await browser.post('/api/users', { username: 'carol' })).status).toBe(201);

  // A sibling host can plant `parachute_session` for the parent domain, never
  // a __Host- cookie: the plain name, even with a real token, signs nobody in.
  const planted = new ApiClient(url);
  planted.cookies.set('parachute_session', browser.cookies.get('__Host-parachute_session') ?? '');
  expect((await planted.get('/api/auth/session')).status).toBe(401);
});

test('a mutation a browser marks as not same-origin is refused, whatever its Origin says', async () => {
  const { url } = await hubWithOperator(hubs);
  const browser = new ApiClient(url);
  await browser.login(ADMIN.username, ADMIN.password);
  for (const site of ['same-site', 'cross-site']) {
    const res = await browser.post(
      '/api/users',
      { username: `mallory-${site}` },
      { 'sec-fetch-site': site },
    );
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('csrf_failed');
  }
  const own = await browser.post(
    '/api/users',
    { username: 'dave' },
    { 'sec-fetch-site': 'same-origin' },
  );
  expect(own.status).toBe(201);
  // Signing in is held to the same rule.
  const login = await new ApiClient(url).post('/api/auth/login', ADMIN, {
    'sec-fetch-site': 'same-site',
  });
  expect(login.status).toBe(403);
});
