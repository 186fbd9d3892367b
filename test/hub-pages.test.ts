import { beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  type OperatorCall,
  running,
  trackHubs,
} from './helpers/modules.ts';

// The hub's own pages (issue 16 point 6) against the real binary: API
// clients keep the JSON they always had, status and shape; browsers
// (Accept: text/html) get a page under the page CSP, with every name and
// path an attacker could pick rendered as text.

const hubs = trackHubs();
const APPS = 'apps.test';
let url: string;
let port: number;
/** A second hub, with an apps domain: modules on origins of their own. */
let appsPort: number;
let call: OperatorCall;
/** A signed-in admin's session cookie, as a browser would send it. */
let adminCookie: string;

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const JSON_ACCEPT = { accept: 'application/json' };

beforeAll(async () => {
  ({ url, call } = await hubWithOperator(hubs));
  port = Number(new URL(url).port);
  appsPort = Number(
    new URL((await hubWithOperator(hubs, { PARACHUTE_APPS_DOMAIN: APPS })).url).port,
  );
  for (const fixture of ['good', 'late-bind'] as const) {
    expect((await install(call, { package: await packFixture(fixture) })).state).toBe('succeeded');
  }
  await running(call, 'fx-good');
  await running(call, 'fx-late-bind');
  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  adminCookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}, 120_000);

/** The checks every hub page passes: its status, HTML, the strict CSP, and no script. */
async function expectPage(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
  expect(csp).not.toContain('script-src');
  expect(csp).toContain("frame-ancestors 'none'");
  const html = await res.text();
  expect(html).not.toContain('<script');
  expect(html).not.toContain(' style=');
  return html;
}

/** One request as raw bytes, so its Host can be any name; the status line and body. */
function raw(path: string, host: string, accept: string, to = port) {
  return new Promise<{ status: string; text: string; head: string }>((resolve, reject) => {
    let answer = '';
    const socket = connect(to, '127.0.0.1', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: ${accept}\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const split = answer.indexOf('\r\n\r\n');
      resolve({
        status: answer.split('\r\n')[0] ?? '',
        head: answer.slice(0, split).toLowerCase(),
        text: answer.slice(split + 4),
      });
    });
  });
}

describe('/', () => {
  test('a page with the apps and modules, each module with its state, and the way to the admin UI', async () => {
    const html = await expectPage(await fetch(`${url}/`, { headers: HTML }), 200);
    expect(html).toContain('<h1>This hub</h1>');
    expect(html).toContain('<a class="button primary small" href="/admin/">Admin</a>');
    expect(html).toMatch(
      /<span class="dot state-running" aria-hidden="true"><\/span><a href="\/fx-good">Fixture: good<\/a> <small>\/fx-good · running · v1\.0\.0<\/small>/,
    );
  });
});

test('/ of a hub without modules says so and leads to installing one', async () => {
  const html = await expectPage(
    await fetch(`http://127.0.0.1:${appsPort}/`, { headers: HTML }),
    200,
  );
  expect(html).toContain('No modules are installed yet.');
  expect(html).toContain('href="/admin/modules">Install a module</a>');
});

describe('not found', () => {
  test('API clients and non-GET requests keep the JSON 404', async () => {
    for (const [method, headers] of [
      ['GET', JSON_ACCEPT],
      ['GET', {}],
      ['POST', HTML],
    ] as const) {
      const res = await fetch(`${url}/no/such/page`, { method, headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: 'not_found',
        error_description: `Nothing is served at ${method} /no/such/page.`,
      });
    }
  });

  test('a browser gets the admin UI’s not-found page; a path carrying markup shows as text', async () => {
    const html = await expectPage(await fetch(`${url}/no/such/page`, { headers: HTML }), 404);
    expect(html).toContain('<h1>Page not found</h1>');
    expect(html).toContain('There is no page at /no/such/page on this hub.');
    expect(html).toContain('href="/">Back to the home page</a>');
    // Sent raw: fetch() would percent-encode the markup before the hub saw it.
    const hostile = await raw('/x"><script>alert(1)</script>', `127.0.0.1:${port}`, HTML.accept);
    expect(hostile.status).toBe('HTTP/1.1 404 Not Found');
    expect(hostile.text).not.toContain('<script>');
    expect(hostile.text).toContain('<h1>Page not found</h1>');
  });

  test('a path on a module’s own origin that is not the module’s: JSON as before, a page for browsers', async () => {
    // No module is installed there: fx-good's origin has nothing but its session endpoints.
    const host = `fx-good.${APPS}:${appsPort}`;
    const api = await raw('/admin/', host, 'application/json', appsPort);
    expect(api.status).toBe('HTTP/1.1 404 Not Found');
    expect(JSON.parse(api.text)).toEqual({
      error: 'not_found',
      error_description:
        "/admin/ is not part of fx-good. This is fx-good's own origin; the hub's admin UI and its other modules are on the hub's origin.",
    });
    const page = await raw('/<img/src/onerror=alert(1)>', host, HTML.accept, appsPort);
    expect(page.status).toBe('HTTP/1.1 404 Not Found');
    expect(page.head).toContain("content-security-policy: default-src 'none'");
    expect(page.text).toContain('<h1>Page not found</h1>');
    expect(page.text).not.toContain('<img');
    // The way back is the hub's origin: nothing else of the hub is served here.
    expect(page.text).toContain(
      `href="http://127.0.0.1:${appsPort}/">Go to the hub&#39;s home page</a>`,
    );
  });
});

describe('a module that cannot answer', () => {
  test('stopped: 502 JSON unchanged; a page that says so, with the admin’s way to start it only for an admin', async () => {
    expect((await call('POST', '/api/modules/fx-good/stop')).json.state).toBe('stopped');
    try {
      const json = await fetch(`${url}/fx-good/`, { headers: JSON_ACCEPT });
      expect(json.status).toBe(502);
      expect(await json.json()).toEqual({
        error: 'module_unavailable',
        error_description:
          'parachute-fixture-good is stopped. Start it from the admin UI or with: parachute start parachute-fixture-good (its logs: parachute logs parachute-fixture-good)',
        module: 'parachute-fixture-good',
        state: 'stopped',
      });

      const visitor = await expectPage(await fetch(`${url}/fx-good/`, { headers: HTML }), 502);
      expect(visitor).toContain('<h1>Fixture: good is stopped</h1>');
      expect(visitor).toContain('502 · Module stopped');
      expect(visitor).toContain('parachute start parachute-fixture-good');
      expect(visitor).toContain('Ask the person who runs this hub to start it.');
      expect(visitor).not.toContain('/admin/modules#');
      // Whoever runs the hub can sign in and land on the module's card.
      expect(visitor).toContain(
        `href="${url}/login?next=%2Fadmin%2Fmodules%23module-parachute-fixture-good">Admin sign-in</a>`,
      );

      const admin = await expectPage(
        await fetch(`${url}/fx-good/`, { headers: { ...HTML, cookie: adminCookie } }),
        502,
      );
      expect(admin).toContain(
        `href="${url}/admin/modules#module-parachute-fixture-good">Open in Modules</a>`,
      );
      expect(admin).toContain(`href="${url}/admin/logs/parachute-fixture-good">View its logs</a>`);
      // Opening the page changed nothing: the module is still stopped.
      expect((await moduleNamed(call, 'fx-good'))?.state).toBe('stopped');
    } finally {
      await call('POST', '/api/modules/fx-good/start');
      await running(call, 'fx-good');
    }
  }, 60_000);

  test('starting: 503 JSON unchanged with Retry-After; a page that reloads itself', async () => {
    // Restarted with a bind delay longer than the test: it stays `starting`.
    const env = await call('PUT', '/api/modules/fx-late-bind/env', {
      values: { FIXTURE_BIND_DELAY_MS: '60000' },
    });
    expect(env.status).toBe(200);
    await call('POST', '/api/modules/fx-late-bind/restart');
    try {
      await waitFor('fx-late-bind starting', async () =>
        (await moduleNamed(call, 'fx-late-bind'))?.state === 'starting' ? true : undefined,
      );
      const json = await fetch(`${url}/fx-late-bind/`, { headers: JSON_ACCEPT });
      expect(json.status).toBe(503);
      expect(json.headers.get('retry-after')).toBe('2');
      expect(await json.json()).toEqual({
        error: 'module_starting',
        error_description:
          'parachute-fixture-late-bind is starting. It is starting; try again in a few seconds.',
        module: 'parachute-fixture-late-bind',
        state: 'starting',
      });
      const res = await fetch(`${url}/fx-late-bind/`, { headers: HTML });
      expect(res.headers.get('retry-after')).toBe('2');
      const html = await expectPage(res, 503);
      expect(html).toContain('<h1>Fixture: late bind is starting</h1>');
      expect(html).toContain('<meta http-equiv="refresh" content="3">');
    } finally {
      await call('PUT', '/api/modules/fx-late-bind/env', {
        values: { FIXTURE_BIND_DELAY_MS: null },
      });
      await call('POST', '/api/modules/fx-late-bind/restart');
    }
  }, 60_000);
});

describe('a Host name that is not the hub’s', () => {
  test('421: JSON unchanged for API clients; a page for browsers that names neither the hub’s origin nor its names', async () => {
    const api = await raw('/', 'rebind.example', 'application/json');
    expect(api.status).toBe('HTTP/1.1 421 Misdirected Request');
    expect(JSON.parse(api.text)).toEqual({
      error: 'misdirected_request',
      error_description:
        'This hub does not answer to the name "rebind.example": it only serves its own names, so that a web page cannot reach it through a name that points here (DNS rebinding). If rebind.example is yours, add it to PARACHUTE_ALLOWED_HOSTS (comma-separated) or make it the origin (PARACHUTE_HUB_ORIGIN), and restart the hub.',
    });
    const page = await raw('/', 'rebind.example', HTML.accept);
    expect(page.status).toBe('HTTP/1.1 421 Misdirected Request');
    expect(page.head).toContain("content-security-policy: default-src 'none'");
    expect(page.text).toContain('<h1>This hub does not answer to rebind.example</h1>');
    expect(page.text).toContain('PARACHUTE_ALLOWED_HOSTS=rebind.example');
    // A rebinding page can read this answer: it learns nothing it did not send.
    expect(page.text).not.toContain(`127.0.0.1`);
    expect(page.text).not.toContain(`:${port}`);
  });

  test('400 for a Host that is no host: JSON unchanged, a page for browsers', async () => {
    const api = await raw('/', 'bad host', 'application/json');
    expect(api.status).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(api.text)).toEqual({
      error: 'invalid_request',
      error_description:
        'The Host header "bad host" is not a valid host. Send one host name, e.g. Host: 127.0.0.1:1939.',
    });
    const page = await raw('/', '<b>x', HTML.accept);
    expect(page.status).toBe('HTTP/1.1 400 Bad Request');
    expect(page.text).toContain('<h1>This address has no valid host name</h1>');
    expect(page.text).not.toContain('<b>');
  });
});
