// Moving a hub (deploy.md, "Export and import"; issue 18 points 2 and 4): an
// export taken while a module writes to its own SQLite database and people
// sign in, imported into a fresh home on which a new hub then serves the same
// accounts, apps, grants, keys, modules and data. A damaged or edited archive
// is refused and nothing is written; a hub killed mid-export leaves nothing
// that looks like a good archive.
import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as oauth from 'oauth4webapi';
import * as tar from 'tar-stream';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { type HubProcess, runBinary, waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  operatorClient,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
const REDIRECT = 'http://127.0.0.1:4711/cb';
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const none = oauth.None();
const SECRET_ENV = 'LEDGER_SECRET=kept-across-hosts\n';

let work: string;
let hub: HubProcess;
let url: string;
let bin: string;
let call: OperatorCall;
let archive: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parachute-export-'));
  const started = await hubWithOperator(hubs);
  ({ hub, url, bin, call } = started);
  const op = await install(call, { package: await packFixture('ledger') });
  expect(op.state).toBe('succeeded');
  // The module's settings: a .env only its owner may read.
  mkdirSync(join(hub.home, 'fx-ledger'), { recursive: true });
  writeFileSync(join(hub.home, 'fx-ledger', '.env'), SECRET_ENV, { mode: 0o600 });
  chmodSync(join(hub.home, 'fx-ledger', '.env'), 0o600);
  await running(call, 'fx-ledger');
}, 120_000);

afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGTERM');
});

interface Ledger {
  rows: number;
  max: number;
}
const ledgerAt = async (base: string): Promise<Ledger> =>
  (await fetch(`${base}/fx-ledger/count`)).json() as Promise<Ledger>;

/** An OAuth app registered on `base`, approved once for fx-ledger:read: its client and refresh token. */
async function approvedApp(base: string) {
  const as = await discover(base);
  const client = (await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      { redirect_uris: [REDIRECT], client_name: 'Moving app' },
      insecure,
    ),
  )) as oauth.Client;
  const person = new ApiClient(base);
  await person.login(ADMIN.username, ADMIN.password);
  const { location, consented } = await authorize(base, as, client, person);
  expect(consented).toBe(true);
  const tokens = await exchange(as, client, location);
  return { client, refresh: tokens.refresh_token as string };
}

async function discover(base: string) {
  const issuer = new URL(base);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
}

const VERIFIER = oauth.generateRandomCodeVerifier();

/** The person's browser at the authorize URL; approves the consent page if it is shown. */
async function authorize(
  base: string,
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  person: ApiClient,
) {
  const target = new URL(as.authorization_endpoint as string);
  for (const [k, v] of Object.entries({
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
    code_challenge_method: 'S256',
    state: 'st',
    scope: 'fx-ledger:read',
  }))
    target.searchParams.set(k, v);
  const res = await person.get(target.pathname + target.search);
  const location = res.headers.get('location') as string;
  expect(res.status).toBe(302);
  if (!location.startsWith('/admin/consent?request=')) {
    return { location: new URL(location), consented: false };
  }
  const id = new URL(location, base).searchParams.get('request') as string;
  const answer = await person.post(`/api/oauth/requests/${id}`, { decision: 'approve' });
  expect(answer.status).toBe(200);
  return { location: new URL(answer.json.redirect as string), consented: true };
}

async function exchange(as: oauth.AuthorizationServer, client: oauth.Client, location: URL) {
  const params = oauth.validateAuthResponse(as, client, location, 'st');
  return oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as,
      client,
      none,
      params,
      REDIRECT,
      VERIFIER,
      insecure,
    ),
  );
}

/** Every row of a ledger database checked: integrity, no gap in seq, every sum right. */
function checkLedgerFile(path: string): Ledger {
  const db = new Database(path, { readonly: true });
  try {
    expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const counted = db
      .query('SELECT COUNT(*) AS rows, COALESCE(MAX(seq), 0) AS max FROM rows')
      .get() as Ledger;
    expect(counted.rows).toBe(counted.max);
    for (const row of db.query('SELECT payload, sum FROM rows').all() as {
      payload: string;
      sum: string;
    }[]) {
      expect(new Bun.CryptoHasher('sha256').update(row.payload).digest('hex')).toBe(row.sum);
    }
    return counted;
  } finally {
    db.close();
  }
}

/**
 * Imports `archive` into `home`, starts a hub there and checks the move: the
 * module's data (consistent, between the counts at the snapshot's start and
 * end), its .env, sign-in, the operator token, the module, the signing keys,
 * the app's grant and refresh token, and the audit log.
 */
async function expectMoved(moved: {
  archive: string;
  home: string;
  atStart: Ledger;
  atEnd: Ledger;
  app: Awaited<ReturnType<typeof approvedApp>>;
  jwksBefore: unknown;
  importEnv?: Record<string, string>;
  auditActions?: string[];
}) {
  const { archive, home, atStart, atEnd, app, jwksBefore } = moved;
  const imported = await runBinary(bin, ['import', archive], {
    env: { PARACHUTE_HOME: home, ...moved.importEnv },
  });
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
  // The module's data: consistent, and at least what there was when the snapshot began.
  const copy = checkLedgerFile(join(home, 'fx-ledger', 'ledger.db'));
  expect(copy.rows).toBeGreaterThanOrEqual(atStart.rows);
  expect(copy.rows).toBeLessThanOrEqual(atEnd.rows);
  expect(await Bun.file(join(home, 'fx-ledger', '.env')).text()).toBe(SECRET_ENV);
  expect(statSync(join(home, 'fx-ledger', '.env')).mode & 0o777).toBe(0o600);
  expect(statSync(join(home, 'hub.db')).mode & 0o777).toBe(0o600);

  const started = await freshHub({}, home);
  hubs.push(started.hub);
  const next = started.url;
  // The same password signs in.
  const person = new ApiClient(next);
  await person.login(ADMIN.username, ADMIN.password);
  // The operator token still works for the CLI.
  const operator = operatorClient(next, home);
  expect((await operator('GET', '/api/modules')).status).toBe(200);
  // The module was reinstalled from the package list and runs on its data.
  await running(operator, 'fx-ledger');
  expect(await ledgerAt(next)).toMatchObject({ rows: copy.rows, max: copy.max });
  // The same signing keys.
  expect(await (await fetch(`${next}/.well-known/jwks.json`)).json()).toEqual(jwksBefore);
  // The app is still registered, and its grant holds: no consent page this time.
  const clients = (await person.get('/api/oauth/clients')).json.clients as {
    client_id: string;
  }[];
  expect(clients.map((c) => c.client_id)).toContain(app.client.client_id);
  const as = await discover(next);
  const again = await authorize(next, as, app.client, person);
  expect(again.consented).toBe(false);
  expect((await exchange(as, app.client, again.location)).access_token).toBeTruthy();
  // Its refresh token from the old host still refreshes.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    app.client,
    await oauth.refreshTokenGrantRequest(as, app.client, none, app.refresh, insecure),
  );
  expect(refreshed.access_token).toBeTruthy();
  // Both ends are in the audit log.
  const audit = (await person.get('/api/audit?action=hub.')).json.entries as {
    action: string;
    outcome: string;
  }[];
  expect(audit.map((e) => `${e.action} ${e.outcome}`)).toEqual(
    expect.arrayContaining(moved.auditActions ?? ['hub.export started', 'hub.import success']),
  );
  return { started, copy };
}

describe('who may export', () => {
  test('only an admin: no one signed in, a plain user and another site get nothing', async () => {
    expect((await fetch(`${url}/api/hub/export`)).status).toBe(401);
    const admin = new ApiClient(url);
    await admin.login(ADMIN.username, ADMIN.password);
    const created = await admin.post('/api/users', { username: 'carol', role: 'user' });
    expect(created.status).toBe(201);
    const carol = new ApiClient(url);
    await carol.login('carol', created.json.temporary_password as string);
    const refused = await carol.get('/api/hub/export');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-disposition')).toBeNull();
    // A page on another site may make an admin's browser ask, but never read the answer.
    const res = await fetch(`${url}/api/hub/export`, {
      headers: {
        origin: 'https://evil.example',
        cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await res.arrayBuffer();
    // The admin's own download: a private, uncached file.
    const own = await fetch(`${url}/api/hub/export`, {
      headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(own.status).toBe(200);
    expect(own.headers.get('cache-control')).toBe('no-store');
    expect(own.headers.get('content-type')).toBe('application/gzip');
    expect(own.headers.get('content-disposition')).toMatch(
      /^attachment; filename="parachute-export-[0-9TZ-]+\.tar\.gz"$/,
    );
    const bytes = new Uint8Array(await own.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    // Sent, then gone from the hub's scratch folder.
    await waitFor('the built archive to be removed', () =>
      readdirSync(join(hub.home, 'tmp')).some((f) => f.startsWith('export-')) ? undefined : true,
    );
  }, 60_000);
});

describe('export under load, import into a fresh home', () => {
  test('sign-in, apps, grants, keys, the module and its data survive the move', async () => {
    const app = await approvedApp(url);
    const jwksBefore = await (await fetch(`${url}/.well-known/jwks.json`)).json();

    // Some data, so the export takes a while; then load: the module writes a
    // row every few ms, and people keep signing in.
    expect((await fetch(`${url}/fx-ledger/seed?mb=20`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${url}/fx-ledger/write/start`, { method: 'POST' })).status).toBe(200);
    await waitFor('rows being written', async () =>
      (await ledgerAt(url)).rows > 200 ? true : undefined,
    );
    let signIns = 0;
    const failures: string[] = [];
    let loading = true;
    const signingIn = (async () => {
      while (loading) {
        const res = await new ApiClient(url).post('/api/auth/login', ADMIN);
        if (res.status === 200) signIns++;
        else failures.push(`${res.status} ${res.text}`);
      }
    })();

    const atStart = await ledgerAt(url);
    archive = join(work, 'hub.tar.gz');
    const started = performance.now();
    const exported = await runBinary(bin, ['export', '-o', archive], {
      env: { PARACHUTE_HOME: hub.home },
    });
    const ms = Math.round(performance.now() - started);
    const atEnd = await ledgerAt(url);
    loading = false;
    await signingIn;
    await fetch(`${url}/fx-ledger/write/stop`, { method: 'POST' });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`to ${archive}`);
    expect(failures).toEqual([]);
    expect(signIns).toBeGreaterThan(0);
    expect(atEnd.rows).toBeGreaterThan(atStart.rows);
    // The export holds secrets: only its owner may read it.
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    console.log(
      `export under load: ${ms} ms, ${statSync(archive).size} bytes, ${signIns} sign-ins meanwhile, ledger ${atStart.rows} → ${atEnd.rows} rows`,
    );

    // The old hub goes away (the module's port is the same on the new host).
    hub.proc.kill('SIGTERM');
    await hub.proc.exited;
    await expectMoved({ archive, home: join(work, 'new-home'), atStart, atEnd, app, jwksBefore });
  }, 180_000);
});

describe('a damaged or edited archive is refused and nothing is written', () => {
  /** The archive's files, changed by `edit`, packed again. */
  async function variant(name: string, edit: (files: Map<string, Uint8Array>) => void) {
    const files = new Map<string, Uint8Array>();
    for (const [path, file] of await new Bun.Archive(await Bun.file(archive).bytes()).files()) {
      files.set(path, await file.bytes());
    }
    edit(files);
    const path = join(work, `${name}.tar.gz`);
    await Bun.write(
      path,
      await new Bun.Archive(Object.fromEntries(files), { compress: 'gzip' }).bytes(),
    );
    return path;
  }

  const sum = (bytes: Uint8Array | string) =>
    new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

  async function refused(file: string, message: string) {
    const home = join(work, `target-${Math.random().toString(36).slice(2)}`);
    const { code, stderr } = await runBinary(bin, ['import', file], {
      env: { PARACHUTE_HOME: home },
    });
    expect(stderr).toContain(message);
    expect(stderr).toContain('Nothing was written');
    expect(code).toBe(1);
    expect(existsSync(home)).toBe(false);
  }

  test('a byte flipped in a database', async () => {
    const file = await variant('flipped', (files) => {
      const db = files.get('home/fx-ledger/ledger.db') as Uint8Array;
      db[db.length - 100] = (db[db.length - 100] as number) ^ 0xff;
    });
    await refused(file, 'fx-ledger/ledger.db does not match its checksum in the manifest');
  }, 60_000);

  test('a truncated .tar.gz', async () => {
    const bytes = await Bun.file(archive).bytes();
    const file = join(work, 'truncated.tar.gz');
    await Bun.write(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await refused(file, 'it is not a readable .tar.gz: cut short or corrupt');
  }, 60_000);

  test('a file added, a file removed', async () => {
    const added = await variant('added', (files) => {
      files.set('home/fx-ledger/extra.sh', new TextEncoder().encode('echo owned\n'));
    });
    await refused(added, 'it holds home/fx-ledger/extra.sh, which its manifest does not list');
    const removed = await variant('removed', (files) => {
      files.delete('home/services.json');
    });
    await refused(removed, 'services.json is listed in its manifest but missing from the archive');
  }, 60_000);

  test('an edited manifest', async () => {
    const file = await variant('edited', (files) => {
      const text = new TextDecoder().decode(files.get('manifest.json'));
      files.set(
        'manifest.json',
        new TextEncoder().encode(text.replace('"hub_version"', '"hub_version" ')),
      );
    });
    await refused(file, 'its manifest does not match manifest.sha256');
  }, 60_000);

  test('a rewritten manifest whose link leaves the home', async () => {
    // Checksums cannot stop someone who rewrites the manifest too: paths still may not escape.
    const file = await variant('escape', (files) => {
      const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
      manifest.symlinks.push({ path: 'fx-ledger/passwd', target: '../../../../etc/passwd' });
      const text = JSON.stringify(manifest);
      files.set('manifest.json', new TextEncoder().encode(text));
      files.set('manifest.sha256', new TextEncoder().encode(sum(text)));
    });
    await refused(file, 'the link fx-ledger/passwd points outside the home');
  }, 60_000);

  test('an entry that is a link, or whose name climbs out of the home', async () => {
    // Crafted with a tar library, since an export never holds such entries:
    // a symlink entry (writing through it would land outside the home) and a
    // file named ../ are refused before anything is written.
    const crafted = async (name: string, add: (pack: tar.Pack) => void) => {
      const pack = tar.pack();
      const path = join(work, `${name}.tar.gz`);
      const done = pipeline(pack, createGzip(), createWriteStream(path));
      for (const [entry, file] of await new Bun.Archive(await Bun.file(archive).bytes()).files()) {
        pack.entry({ name: entry }, Buffer.from(await file.bytes()));
      }
      add(pack);
      pack.finalize();
      await done;
      return path;
    };
    const link = await crafted('symlink-entry', (pack) =>
      pack.entry({ name: 'home/fx-ledger/out', type: 'symlink', linkname: '/etc' }),
    );
    await refused(link, 'it holds home/fx-ledger/out, which is not a file');
    const climb = await crafted('climbing-entry', (pack) =>
      pack.entry({ name: 'home/../../../tmp/owned.sh' }, 'echo owned\n'),
    );
    await refused(climb, 'which its manifest does not list');
    expect(existsSync('/tmp/owned.sh')).toBe(false);
    const twice = await crafted('twice', (pack) =>
      pack.entry({ name: 'home/services.json' }, '[]'),
    );
    await refused(twice, 'it holds home/services.json twice');
  }, 60_000);

  test('a home that is not empty is left alone', async () => {
    const home = join(work, 'occupied');
    mkdirSync(home);
    writeFileSync(join(home, 'notes.txt'), 'mine');
    const { code, stderr } = await runBinary(bin, ['import', archive], {
      env: { PARACHUTE_HOME: home },
    });
    expect(code).toBe(1);
    expect(stderr).toContain('is not empty');
    expect(readdirSync(home)).toEqual(['notes.txt']);
  }, 60_000);
});

describe('a hub killed mid-export', () => {
  test('leaves no file that looks like a good archive', async () => {
    const {
      hub: victim,
      url: base,
      call: victimCall,
      bin: victimBin,
    } = await hubWithOperator(hubs);
    const op = await install(victimCall, { package: await packFixture('ledger') });
    expect(op.state).toBe('succeeded');
    const ledger = await running(victimCall, 'fx-ledger');
    // Enough data that the export takes a while.
    expect((await fetch(`${base}/fx-ledger/seed?mb=40`, { method: 'POST' })).status).toBe(200);
    const out = join(work, 'killed', 'hub.tar.gz');
    mkdirSync(join(work, 'killed'));
    const cli = Bun.spawn([victimBin, 'export', '-o', out], {
      env: { ...process.env, PARACHUTE_HOME: victim.home },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    // The hub has begun: its staging folder exists.
    await waitFor(
      'the export to begin',
      () =>
        readdirSync(join(victim.home, 'tmp')).some((f) => f.startsWith('export-'))
          ? true
          : undefined,
      20_000,
    );
    victim.proc.kill('SIGKILL');
    // Its module outlives it (the next boot would stop it): stop it here.
    process.kill(ledger.pid as number, 'SIGTERM');
    const code = await cli.exited;
    const stderr = await new Response(cli.stderr).text();
    expect(code).toBe(1);
    expect(stderr).toContain('parachute:');
    // Nothing at the -o path, and nothing beside it that passes for an archive.
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(work, 'killed')).filter((f) => f.endsWith('.tar.gz'))).toEqual([]);
    // What the hub left is in its scratch folder, under names that say so...
    const left = readdirSync(join(victim.home, 'tmp')).filter((f) => f.startsWith('export-'));
    expect(left.length).toBeGreaterThan(0);
    // ...and the hub clears it away when it starts again.
    const again = await freshHub({}, victim.home);
    hubs.push(again.hub);
    const second = await runBinary(victimBin, ['export', '-o', out], {
      env: { PARACHUTE_HOME: victim.home },
    });
    expect(second.code).toBe(0);
    const now = readdirSync(join(victim.home, 'tmp'));
    for (const name of left) expect(now).not.toContain(name);
  }, 120_000);
});

describe('a scheduled backup under load, restored into a fresh home', () => {
  test('its drill passes, and the hub it restores is the same hub', async () => {
    const source = await hubWithOperator(hubs);
    const op = await install(source.call, { package: await packFixture('ledger') });
    expect(op.state).toBe('succeeded');
    mkdirSync(join(source.hub.home, 'fx-ledger'), { recursive: true });
    writeFileSync(join(source.hub.home, 'fx-ledger', '.env'), SECRET_ENV, { mode: 0o600 });
    await running(source.call, 'fx-ledger');
    const base = source.url;
    const app = await approvedApp(base);
    const jwksBefore = await (await fetch(`${base}/.well-known/jwks.json`)).json();
    expect((await fetch(`${base}/fx-ledger/seed?mb=20`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${base}/fx-ledger/write/start`, { method: 'POST' })).status).toBe(200);
    await waitFor('rows being written', async () =>
      (await ledgerAt(base)).rows > 200 ? true : undefined,
    );
    let signIns = 0;
    const failures: string[] = [];
    let loading = true;
    const signingIn = (async () => {
      while (loading) {
        const res = await new ApiClient(base).post('/api/auth/login', ADMIN);
        if (res.status === 200) signIns++;
        else failures.push(`${res.status} ${res.text}`);
      }
    })();

    const atStart = await ledgerAt(base);
    const folder = join(work, 'scheduled-backups');
    const passphrase = 'a long passphrase nobody guesses';
    // Saving the schedule starts its first run at once, while the load goes on.
    const saved = await source.call('PUT', '/api/hub/backups/config', {
      target: { kind: 'local', path: folder },
      encryption: { kind: 'passphrase', passphrase },
    });
    expect(saved.status).toBe(200);
    type Run = { state: string; object: string; error: string | null; drill: { ok: boolean } };
    const run = await waitFor(
      'the scheduled backup',
      async () => {
        const runs = (await source.call('GET', '/api/hub/backups')).json.runs as Run[];
        return runs[0] && runs[0].state !== 'running' ? runs[0] : undefined;
      },
      120_000,
    );
    const atEnd = await ledgerAt(base);
    loading = false;
    await signingIn;
    await fetch(`${base}/fx-ledger/write/stop`, { method: 'POST' });
    expect(run.error).toBeNull();
    expect(run.state).toBe('ok');
    expect(run.drill.ok).toBe(true);
    expect(failures).toEqual([]);
    expect(signIns).toBeGreaterThan(0);
    expect(atEnd.rows).toBeGreaterThan(atStart.rows);

    source.hub.proc.kill('SIGTERM');
    await source.hub.proc.exited;
    const { started } = await expectMoved({
      archive: join(folder, run.object),
      home: join(work, 'restored-home'),
      atStart,
      atEnd,
      app,
      jwksBefore,
      importEnv: { PARACHUTE_BACKUP_PASSPHRASE: passphrase },
      auditActions: ['hub.import success'],
    });
    // The restored hub keeps backing up to the same place, and counts this backup as good.
    const restored = operatorClient(started.url, join(work, 'restored-home'));
    const backups = (await restored('GET', '/api/hub/backups')).json as {
      status: { state: string };
      runs: { state: string; object: string }[];
    };
    expect(backups.status.state).toBe('ok');
    expect(backups.runs[0]).toMatchObject({ state: 'ok', object: run.object });
  }, 240_000);
});
