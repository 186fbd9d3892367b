import { beforeAll, expect, test } from 'bun:test';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

// The sign-in that carries the hub session to a module's own origin
// (auth/module-session-routes.ts), step by step against the real binary,
// as a browser follows it: the module's host is given in Host.

const hubs = trackHubs();
let browser: ApiClient;
let onModule: { host: string };
let moduleOrigin: string;

beforeAll(async () => {
  const { url } = await hubWithOperator(hubs, { PARACHUTE_APPS_DOMAIN: 'apps.test' });
  const port = new URL(url).port;
  onModule = { host: `fx-ui.apps.test:${port}` };
  moduleOrigin = `http://${onModule.host}`;
  browser = new ApiClient(url);
  await browser.login(ADMIN.username, ADMIN.password);
}, 30_000);

/** start → authorize → callback with `next`; returns the callback's Location. */
async function signInToModule(next: string): Promise<string> {
  const start = await browser.get(
    `/api/module-session/start?next=${encodeURIComponent(next)}`,
    onModule,
  );
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location') ?? '');
  const back = await browser.get(authorize.pathname + authorize.search);
  expect(back.status).toBe(302);
  const callback = new URL(back.headers.get('location') ?? '');
  expect(callback.origin).toBe(moduleOrigin);
  const done = await browser.get(callback.pathname + callback.search, onModule);
  expect(done.status).toBe(302);
  return done.headers.get('location') ?? '';
}

test('next comes back as a path on the module’s origin', async () => {
  expect(await signInToModule('/fx-ui/notes?x=1')).toBe('/fx-ui/notes?x=1');
});

// Browsers remove tabs and newlines from a URL before reading it (WHATWG
// URL, "basic URL parser"), so `/<tab>/evil.example` is `//evil.example`,
// another host: an open redirect from the module's origin after sign-in.
test.each(['/\t/evil.example/', '/\n/evil.example/', '/\t\\evil.example/', '//evil.example/'])(
  'next=%p never leaves the module’s origin',
  async (next) => {
    const location = await signInToModule(next);
    expect(new URL(location, moduleOrigin).origin).toBe(moduleOrigin);
  },
);
