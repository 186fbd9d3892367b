// Restoring a scheduled backup with the compiled binary (issue 18 point 3):
// `parachute import backup.tar.gz.age` decrypts (passphrase from the
// environment or the terminal, or --identity KEYFILE), then imports; the
// restored hub signs its admin in. A wrong key or a damaged file is refused
// clearly and writes nothing: no home, no decrypted copy left beside it.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptFile, newDrillIdentity, recipientOf } from '../src/backup/age-file.ts';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { isolatedBinary, ready, runBinary, spawnHub, waitFor } from './helpers/binary.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();
const PASSPHRASE = 'restore me, please';
let bin: string;
let work: string;
let byPassphrase: string;
let byRecipient: string;
let operatorKeyFile: string;

beforeAll(async () => {
  const started = await hubWithOperator(hubs);
  bin = started.bin;
  ({ dir: work } = isolatedBinary());
  const archive = join(work, 'hub.tar.gz');
  const exported = await runBinary(bin, ['export', '-o', archive], {
    env: { PARACHUTE_HOME: started.hub.home },
  });
  expect(exported.code).toBe(0);
  started.hub.proc.kill('SIGTERM');
  await started.hub.proc.exited;

  byPassphrase = join(work, 'parachute-backup-2026-12-02T03-00-00-000Z.tar.gz.age');
  await encryptFile(archive, byPassphrase, { kind: 'passphrase', passphrase: PASSPHRASE });
  // The operator's key as age-keygen writes it, comments and all.
  const operator = await newDrillIdentity();
  operatorKeyFile = join(work, 'key.txt');
  writeFileSync(
    operatorKeyFile,
    `# created: 2026-12-02T00:00:00Z\n# public key: ${await recipientOf(operator)}\n${operator}\n`,
    { mode: 0o600 },
  );
  byRecipient = join(work, 'parachute-backup-2026-12-03T03-00-00-000Z.tar.gz.age');
  await encryptFile(archive, byRecipient, {
    kind: 'recipient',
    recipient: await recipientOf(operator),
    drillIdentity: await newDrillIdentity(),
  });
}, 120_000);

afterAll(() => {
  for (const h of hubs) h.proc.kill('SIGTERM');
});

/** A new, not yet existing home inside its own parent folder (to see what is left beside it). */
function newHome(name: string): { parent: string; home: string } {
  const parent = join(work, name);
  mkdirSync(parent);
  return { parent, home: join(parent, 'home') };
}

/** Starts a hub on `home` and signs the admin in: the restore is a working hub. */
async function signsIn(home: string): Promise<void> {
  const hub = spawnHub(bin, { cwd: work, env: { PARACHUTE_HOME: home } });
  hubs.push(hub);
  const url = await hub.listening();
  await ready(url);
  await new ApiClient(url).login(ADMIN.username, ADMIN.password);
  hub.proc.kill('SIGTERM');
  await hub.proc.exited;
}

test('a passphrase backup imports with PARACHUTE_BACKUP_PASSPHRASE, and the hub runs', async () => {
  const { parent, home } = newHome('by-passphrase');
  const res = await runBinary(bin, ['import', byPassphrase], {
    env: { PARACHUTE_HOME: home, PARACHUTE_BACKUP_PASSPHRASE: PASSPHRASE },
  });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toContain(`into ${home}`);
  expect(readdirSync(parent)).toEqual(['home']); // the decrypted copy is gone
  await signsIn(home);
}, 60_000);

test('a recipient backup imports with --identity and the age-keygen key file', async () => {
  const { parent, home } = newHome('by-identity');
  const res = await runBinary(bin, ['import', byRecipient, '--identity', operatorKeyFile], {
    env: { PARACHUTE_HOME: home },
  });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(readdirSync(parent)).toEqual(['home']);
  await signsIn(home);
}, 60_000);

test('the passphrase can be typed at a terminal prompt, not echoed', async () => {
  const { home } = newHome('by-prompt');
  // script(1) gives the command a terminal; the passphrase is typed into it.
  const proc = Bun.spawn(['script', '-qec', `${bin} import ${byPassphrase}`, '/dev/null'], {
    env: { ...process.env, PARACHUTE_HOME: home },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let text = '';
  const reading = (async () => {
    for await (const chunk of proc.stdout) text += new TextDecoder().decode(chunk);
  })();
  // Typed only once asked: the terminal echoes whatever arrives before that.
  await waitFor('the passphrase prompt', () =>
    text.includes('Backup passphrase:') ? true : undefined,
  );
  proc.stdin.write(`${PASSPHRASE}\n`);
  await proc.stdin.flush();
  const code = await proc.exited;
  await reading;
  expect(text).not.toContain(PASSPHRASE);
  expect(text).toContain(`into ${home}`);
  expect(code).toBe(0);
}, 60_000);

const refusals: [string, () => string[], Record<string, string>, string][] = [
  [
    'a wrong passphrase',
    () => ['import', byPassphrase],
    { PARACHUTE_BACKUP_PASSPHRASE: 'not the passphrase' },
    'the passphrase does not open parachute-backup-2026-12-02T03-00-00-000Z.tar.gz.age',
  ],
  [
    'a key that is not the recipient’s',
    () => ['import', byRecipient, '--identity', join(work, 'other-key.txt')],
    {},
    'the age key does not open parachute-backup-2026-12-03T03-00-00-000Z.tar.gz.age',
  ],
  [
    'a missing key file',
    () => ['import', byRecipient, '--identity', join(work, 'nope.txt')],
    {},
    'cannot read the identity file',
  ],
  [
    'no key at all and no terminal to ask on',
    () => ['import', byPassphrase],
    {},
    'this backup is encrypted and no key was given',
  ],
  [
    'a damaged backup',
    () => ['import', join(work, 'damaged.tar.gz.age')],
    { PARACHUTE_BACKUP_PASSPHRASE: PASSPHRASE },
    "damaged.tar.gz.age is damaged or cut off: age's authentication check failed",
  ],
];

for (const [what, args, env, message] of refusals) {
  test(`${what} is refused clearly and nothing is written`, async () => {
    writeFileSync(join(work, 'other-key.txt'), `${await newDrillIdentity()}\n`);
    const damaged = readFileSync(byPassphrase);
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] ?? 0) ^ 1;
    writeFileSync(join(work, 'damaged.tar.gz.age'), damaged);
    const { parent, home } = newHome(`refused-${what.replace(/\W+/g, '-')}`);
    // setsid: no controlling terminal, as under a service manager or in CI.
    const res = await runBinary('setsid', ['-w', bin, ...args()], {
      env: { PARACHUTE_HOME: home, PARACHUTE_BACKUP_PASSPHRASE: '', ...env },
    });
    expect(res.stderr).toContain(message);
    expect(res.stderr).toContain('Nothing was written');
    expect(res.stderr).not.toContain('    at ');
    expect(res.code).toBe(1);
    expect(existsSync(home)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  }, 60_000);
}
