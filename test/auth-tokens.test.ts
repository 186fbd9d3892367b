import { Database } from 'bun:sqlite';
import { afterAll, describe, expect, test } from 'bun:test';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importPKCS8,
  SignJWT,
} from 'jose';
import { ADMIN, ApiClient, freshHub, setUpHub } from './helpers/api.ts';
import { type HubProcess, ready, runBinary, spawnHub } from './helpers/binary.ts';

const hubs: HubProcess[] = [];
afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGKILL');
});
const hub = async (env: Record<string, string> = {}) => {
  const started = await setUpHub(env);
  hubs.push(started.hub);
  return started;
};

/** The hub's active private key, read from its hub.db the way an attacker with the file would. */
async function hubKey(home: string) {
  const db = new Database(join(home, 'hub.db'), { readonly: true });
  const row = db
    .query('SELECT kid, private_pkcs8 FROM signing_keys WHERE retired_at IS NULL')
    .get() as {
    kid: string;
    private_pkcs8: string;
  };
  db.close();
  return { kid: row.kid, key: await importPKCS8(row.private_pkcs8, 'RS256') };
}

const operatorToken = (home: string) =>
  Bun.file(join(home, 'operator.token'))
    .text()
    .then((t) => t.trim());
const bearer = (url: string, token: string, path = '/api/users') =>
  fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JWKS', () => {
  test('publishes the active RS256 key under its RFC 7638 thumbprint, public parts only', async () => {
    const { url, hub: h } = await hub();
    const res = await fetch(`${url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    const key = keys[0] as Record<string, string>;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key[secret]).toBeUndefined();
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: key.n, e: key.e }));
    expect(Buffer.from(key.n as string, 'base64url').length * 8).toBe(2048);
    expect(decodeProtectedHeader(await operatorToken(h.home)).kid).toBe(key.kid);
  });

  test('a hub nobody has set up makes its key on the first JWKS request, never an empty set', async () => {
    const { url, hub: h } = await freshHub();
    hubs.push(h);
    const db = new Database(join(h.home, 'hub.db'), { readonly: true });
    const stored = () =>
      (db.query('SELECT kid FROM signing_keys').all() as { kid: string }[]).map((r) => r.kid);
    // Ready, and no RSA key generated at boot.
    expect(stored()).toEqual([]);
    const kids = async () =>
      (
        (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
      ).keys.map((k) => k.kid);
    const [first, second] = await Promise.all([kids(), kids()]);
    expect(first).toHaveLength(1);
    expect(second).toEqual(first);
    expect(stored()).toEqual(first);
    db.close();
  });
});

describe('bearer tokens on hub APIs', () => {
  test('the operator token is accepted; forged, expired and misaddressed tokens are not', async () => {
    const { url, hub: h } = await hub();
    expect((await bearer(url, await operatorToken(h.home))).status).toBe(200);
    const { kid, key } = await hubKey(h.home);
    const now = Math.floor(Date.now() / 1000);
    const claims = { scope: 'parachute:host:admin' };
    const sign = (
      over: { iss?: string; aud?: string; exp?: number; iat?: number },
      k = key,
      header = { alg: 'RS256', kid },
    ) =>
      new SignJWT(claims)
        .setProtectedHeader(header)
        .setIssuer(over.iss ?? url)
        .setSubject('operator')
        .setAudience(over.aud ?? 'operator')
        .setIssuedAt(over.iat ?? now)
        .setExpirationTime(over.exp ?? now + 600)
        .setJti(crypto.randomUUID())
        .sign(k);

    // A token the hub's key signed correctly passes: the harness itself is sound.
    expect((await bearer(url, await sign({}))).status).toBe(200);

    const attacker = await generateKeyPair('RS256', { extractable: true });
    // What a key-confusion attacker has: the published key, used as an HMAC secret.
    const publicJwk = (
      (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: object[] }
    ).keys[0];
    const cases: [string, string, number, string][] = [
      ['expired', await sign({ exp: now - 120, iat: now - 720 }), 401, 'expired'],
      [
        'signed by another key under the hub’s kid',
        await sign({}, attacker.privateKey),
        401,
        'bad signature',
      ],
      ['wrong issuer', await sign({ iss: 'https://evil.example' }), 401, 'claim "iss"'],
      ['wrong audience', await sign({ aud: 'vault' }), 401, 'claim "aud"'],
      [
        'alg none',
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: url, sub: 'operator', aud: 'operator', exp: now + 600, jti: 'x', ...claims })}.`,
        401,
        '',
      ],
      [
        'HS256 keyed with the public key',
        await new SignJWT({ ...claims, jti: 'y' })
          .setProtectedHeader({ alg: 'HS256', kid })
          .setIssuer(url)
          .setAudience('operator')
          .setExpirationTime(now + 600)
          .sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
        401,
        '',
      ],
      ['garbage', 'not.a.jwt', 401, 'malformed'],
    ];
    for (const [what, token, status, reason] of cases) {
      const res = await bearer(url, token);
      const body = (await res.json()) as { error: string; error_description: string };
      expect({ what, status: res.status, error: body.error }).toEqual({
        what,
        status,
        error: 'unauthenticated',
      });
      if (reason) expect(body.error_description).toContain(reason);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }

    // Right key and audience but not the admin scope: 403 insufficient_scope.
    const weak = await new SignJWT({ scope: 'vault:default:read' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(url)
      .setSubject('operator')
      .setAudience('hub')
      .setExpirationTime(now + 600)
      .setJti(crypto.randomUUID())
      .sign(key);
    const res = await bearer(url, weak);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');
  });
});

describe('operator token lifecycle', () => {
  test('`parachute token rotate` with the hub up: new token works, the old one is revoked, mode 0600', async () => {
    const { url, hub: h, bin } = await hub();
    const old = await operatorToken(h.home);
    const res = await runBinary(bin, ['token', 'rotate'], { env: { PARACHUTE_HOME: h.home } });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('operator token written');
    const fresh = await operatorToken(h.home);
    expect(fresh).not.toBe(old);
    expect(statSync(join(h.home, 'operator.token')).mode & 0o777).toBe(0o600);
    expect(decodeJwt(fresh).iss).toBe(url);
    expect((await bearer(url, fresh)).status).toBe(200);
    const refused = await bearer(url, old);
    expect(refused.status).toBe(401);
    // Modules learn of it from the revocation list (public, always 200).
    const list = await fetch(`${url}/.well-known/parachute-revocation.json`);
    expect(list.status).toBe(200);
    const body = (await list.json()) as { generated_at: string; jtis: string[] };
    expect(body.jtis).toContain(decodeJwt(old).jti as string);
    expect(body.jtis).not.toContain(decodeJwt(fresh).jti as string);
    expect(Date.parse(body.generated_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(((await refused.json()) as { error_description: string }).error_description).toContain(
      'revoked',
    );
  });

  test('`parachute token rotate` with the hub down, then the hub accepts the new token', async () => {
    const { url, hub: h, bin, dir } = await hub();
    expect(await h.signal('SIGTERM')).toBe(0);
    const port = new URL(url).port;
    const res = await runBinary(bin, ['token', 'rotate'], {
      env: { PARACHUTE_HOME: h.home, PORT: port },
    });
    expect(res.code).toBe(0);
    const again = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: h.home, PORT: port } });
    hubs.push(again);
    await ready(await again.listening());
    expect(again.stdout()).not.toContain('re-minted');
    expect((await bearer(url, await operatorToken(h.home))).status).toBe(200);
  });

  test('a token expiring within 7 days is re-minted at boot', async () => {
    const { url, hub: h, bin, dir } = await hub();
    const { kid, key } = await hubKey(h.home);
    const now = Math.floor(Date.now() / 1000);
    const expiring = await new SignJWT({ scope: 'parachute:host:admin' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(url)
      .setSubject('operator')
      .setAudience('operator')
      .setIssuedAt(now)
      .setExpirationTime(now + 3 * 24 * 3600)
      .setJti(crypto.randomUUID())
      .sign(key);
    expect(await h.signal('SIGTERM')).toBe(0);
    writeFileSync(join(h.home, 'operator.token'), expiring, { mode: 0o600 });
    const again = spawnHub(bin, {
      cwd: dir,
      env: { PARACHUTE_HOME: h.home, PORT: new URL(url).port },
    });
    hubs.push(again);
    await ready(await again.listening());
    expect(again.stdout()).toContain('operator token re-minted (it expires within 7 days)');
    const fresh = decodeJwt(await operatorToken(h.home));
    expect((fresh.exp ?? 0) - now).toBeGreaterThan(89 * 24 * 3600);
  });

  test('changing the origin re-mints the operator token for the new issuer', async () => {
    const { url, hub: h, admin } = await hub();
    const old = await operatorToken(h.home);
    const res = await admin.put('/api/hub/origin', { origin: 'https://hub.example.com/' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ origin: 'https://hub.example.com', source: 'settings' });
    const fresh = await operatorToken(h.home);
    expect(decodeJwt(fresh).iss).toBe('https://hub.example.com');
    expect((await bearer(url, fresh)).status).toBe(200);
    expect((await bearer(url, old)).status).toBe(401);
    // Over https the session cookie has its __Host- name: the http one no longer signs in.
    expect((await admin.get('/api/auth/session')).status).toBe(401);
    await admin.login(ADMIN.username, ADMIN.password);
    expect((await admin.put('/api/hub/origin', { origin: 'not a url' })).status).toBe(400);
  });

  test('`parachute token rotate-key`: a new active key; tokens of the old key keep working', async () => {
    const { url, hub: h, bin } = await hub();
    const before = await operatorToken(h.home);
    const res = await runBinary(bin, ['token', 'rotate-key'], { env: { PARACHUTE_HOME: h.home } });
    expect(res.code).toBe(0);
    const { keys } = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(keys).toHaveLength(2);
    expect((await bearer(url, before)).status).toBe(200);
    expect(
      (await runBinary(bin, ['token', 'rotate'], { env: { PARACHUTE_HOME: h.home } })).code,
    ).toBe(0);
    const after = await operatorToken(h.home);
    expect(decodeProtectedHeader(after).kid).toBe(keys[0]?.kid);
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    expect((await bearer(url, after)).status).toBe(200);
  });
});

describe('issuer origin from the platform', () => {
  test('FLY_APP_NAME makes the issuer https://<app>.fly.dev; loopback tokens are still accepted', async () => {
    const { hub: h, url, admin } = await hub({ FLY_APP_NAME: 'my-parachute' });
    expect((await admin.get('/api/hub/origin')).json).toMatchObject({
      origin: 'https://my-parachute.fly.dev',
      source: 'FLY_APP_NAME',
    });
    expect(decodeJwt(await operatorToken(h.home)).iss).toBe('https://my-parachute.fly.dev');
    // https origin: cookies are Secure.
    const login = await new ApiClient(url).post('/api/auth/login', ADMIN);
    expect(login.headers.getSetCookie()[0]).toContain('; Secure');
  });

  test('a malformed PARACHUTE_HUB_ORIGIN is a clear startup error', async () => {
    const started = await freshHub();
    hubs.push(started.hub);
    const res = await runBinary(started.bin, ['serve'], {
      env: {
        PORT: '0',
        PARACHUTE_HOME: join(started.dir, 'other'),
        PARACHUTE_HUB_ORIGIN: 'hub.example.com/path',
      },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'PARACHUTE_HUB_ORIGIN "hub.example.com/path" is not a valid origin',
    );
  });
});
