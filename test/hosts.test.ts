import { beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { isolatedBinary, runBinary } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

// DNS rebinding (modules.md section 7): a page on an attacker's name that
// resolves to this machine reaches the hub with that name in Host. Raw
// sockets, because fetch() would send the Host of the URL it was given.

const hubs = trackHubs();
let url: string;
let port: number;
let token: string;

beforeAll(async () => {
  const started = await hubWithOperator(hubs, {
    PARACHUTE_ALLOWED_HOSTS: 'a,hub.lan',
    PARACHUTE_APPS_DOMAIN: 'apps.test',
  });
  url = started.url;
  port = Number(new URL(url).port);
  expect((await install(started.call, { package: await packFixture('good') })).state).toBe(
    'succeeded',
  );
  await running(started.call, 'fx-good');
  token = (await Bun.file(`${started.hub.home}/operator.token`).text()).trim();
}, 60_000);

/** Sends one request as raw bytes; returns the status line, and the body parsed when it is JSON. */
function rawRequest(head: string, target = url) {
  const { hostname, port } = new URL(target);
  return new Promise<{ status: string; json: Record<string, string> | null; text: string }>(
    (resolve, reject) => {
      let answer = '';
      const socket = connect(Number(port), hostname, () => socket.write(head));
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        answer += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const text = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        let json: Record<string, string> | null = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: answer.split('\r\n')[0] ?? '', json, text });
      });
    },
  );
}

const get = (path: string, host: string, headers = '') =>
  rawRequest(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${headers}Connection: close\r\n\r\n`);
const bearer = () => `Authorization: Bearer ${token}\r\n`;

describe('a Host that is not one of the hub’s names', () => {
  test.each([
    ['GET /api/auth/session', ''],
    ['GET /login', ''],
    ['GET /admin/', ''],
    ['GET /fx-good/env', ''],
    ['POST /api/auth/login', '{"username":"admin","password":"wrong"}'],
  ])('%s under a rebinding name gets 421 that says how to allow a name', async (line, body) => {
    const res = await rawRequest(
      `${line} HTTP/1.1\r\nHost: rebind.attacker.example:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe('HTTP/1.1 421 Misdirected Request');
    expect(res.json?.error).toBe('misdirected_request');
    expect(res.json?.error_description).toContain('"rebind.attacker.example"');
    expect(res.json?.error_description).toContain('add it to PARACHUTE_ALLOWED_HOSTS');
  });

  test('a very short Host cannot change the path the hub routes on', async () => {
    // Elysia searched for the path from a fixed offset: under `Host: b` it
    // answered /xyz/api/modules as /api/modules.
    const unknown = await get('/xyz/api/modules', 'b', bearer());
    expect(unknown.status).toBe('HTTP/1.1 421 Misdirected Request');
    // `a` is listed in PARACHUTE_ALLOWED_HOSTS: routed, on the path that was sent.
    const listed = await get('/xyz/api/modules', 'a', bearer());
    expect(listed.status).toBe('HTTP/1.1 404 Not Found');
    expect(listed.json?.error_description).toBe('Nothing is served at GET /xyz/api/modules.');
    const real = await get('/api/modules', 'a', bearer());
    expect(real.status).toBe('HTTP/1.1 200 OK');
  });

  test('two Host lines, or one that is not a host, get 400', async () => {
    const twice = await rawRequest(
      `GET /api/modules HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n`,
    );
    expect(twice.status).toBe('HTTP/1.1 400 Bad Request');
    expect(twice.json?.error).toBe('invalid_request');
    expect((await get('/api/modules', 'a@b')).status).toBe('HTTP/1.1 400 Bad Request');
  });

  test('probes answer under any name: platform health checkers send their own', async () => {
    const health = await get('/health', 'machine-1234.vm.internal:1939');
    expect(health.status).toBe('HTTP/1.1 200 OK');
    expect(health.json?.status).toBe('ok');
  });
});

describe('the hub’s own names', () => {
  // PORT stands for the hub's port.
  test.each([
    '127.0.0.1:PORT',
    'localhost:PORT',
    'LocalHost.',
    '[::1]:PORT',
    'hub.lan',
    'HUB.LAN:PORT',
  ])('%p reaches hub routes and modules', async (name) => {
    const host = name.replace('PORT', String(port));
    expect((await get('/api/modules', host, bearer())).status).toBe('HTTP/1.1 200 OK');
    expect((await get('/fx-good/env', host)).status).toBe('HTTP/1.1 200 OK');
  });

  test('a module’s own origin under the apps domain is answered: its module, never the admin API', async () => {
    expect((await get('/fx-good/env', 'fx-good.apps.test')).status).toBe('HTTP/1.1 200 OK');
    expect((await get('/api/modules', 'fx-good.apps.test', bearer())).status).toBe(
      'HTTP/1.1 404 Not Found',
    );
  });

  // A name under the apps domain that is no module's was served as the hub's
  // origin (its sign-in page, admin UI and API) among the modules' hosts.
  test.each([
    'apps.test',
    'x.fx-good.apps.test',
    'x_y.apps.test',
    '1x.apps.test',
    'hub.lan.attacker.example',
  ])('%p is not one of them', async (host) => {
    expect((await get('/fx-good/env', host)).status).toBe('HTTP/1.1 421 Misdirected Request');
    expect((await get('/login', host)).status).toBe('HTTP/1.1 421 Misdirected Request');
  });
});

test('on a platform, its public name is the hub’s (Render)', async () => {
  const { url } = await hubWithOperator(hubs, {
    RENDER_EXTERNAL_URL: 'https://my-hub.onrender.com',
  });
  const raw = (host: string) =>
    rawRequest(
      `GET /.well-known/parachute.json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      url,
    );
  const res = await raw('my-hub.onrender.com');
  expect(res.status).toBe('HTTP/1.1 200 OK');
  expect(res.json).toMatchObject({ hub: { origin: 'https://my-hub.onrender.com' } });
  expect((await raw('other.onrender.com')).status).toBe('HTTP/1.1 421 Misdirected Request');
});

test('a PARACHUTE_ALLOWED_HOSTS entry that is not a name stops serve with what to write', async () => {
  const { dir, bin } = isolatedBinary();
  const res = await runBinary(bin, ['serve'], {
    cwd: dir,
    env: {
      PORT: '0',
      PARACHUTE_HOME: `${dir}/home`,
      PARACHUTE_ALLOWED_HOSTS: 'hub.lan,https://hub.example.com',
    },
  });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    'PARACHUTE_ALLOWED_HOSTS: "https://hub.example.com" is not a host name.',
  );
  expect(res.stderr).toContain('PARACHUTE_ALLOWED_HOSTS=hub.example.com,nas.local');
});
