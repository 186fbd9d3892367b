// Where scheduled backups go (issue 18 point 3): a local folder and any
// S3-compatible storage, here a real S3 server (s3rver) on loopback that
// checks SigV4 signatures, behind a proxy that injects the failures people
// meet: the endpoint down, wrong credentials, a 5xx, a damaged or cut-off
// download. Every failure must say what is wrong and what to do.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from 'bun';
import { decryptFile, encryptFile, newDrillIdentity, recipientOf } from '../src/backup/age-file.ts';
import { LocalTarget } from '../src/backup/targets/local-target.ts';
import { S3Target } from '../src/backup/targets/s3-target.ts';
import {
  BACKUP_NAME,
  type BackupTarget,
  backupName,
  openTarget,
} from '../src/backup/targets/target.ts';
import { randomFile, refusal, sameBytes } from './helpers/backup-files.ts';
import { type FaultProxy, faultProxy, type S3Server, startS3Server } from './helpers/s3-server.ts';

const work = mkdtempSync(join(tmpdir(), 'parachute-targets-'));
let s3: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = faultProxy(s3.endpoint);
}, 30_000);

afterAll(async () => {
  proxy?.stop();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

function s3Target(
  overrides: Partial<{
    endpoint: string;
    bucket: string;
    secret: string;
    keyId: string;
    prefix: string;
  }> = {},
): BackupTarget {
  return openTarget(
    {
      kind: 's3',
      endpoint: overrides.endpoint ?? proxy.endpoint,
      bucket: overrides.bucket ?? s3.bucket,
      region: 'us-east-1',
      prefix: overrides.prefix ?? 'hub-one',
      access_key_id: overrides.keyId ?? s3.accessKeyId,
    },
    { secret_access_key: overrides.secret ?? s3.secretAccessKey },
  );
}

/** Every key in the bucket, read straight from the server. */
async function allKeys(): Promise<string[]> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  return ((await client.list()).contents ?? []).map((c) => c.key).sort();
}

test('backup names are made and recognised alike', () => {
  const name = backupName(new Date('2026-12-02T03:00:00.000Z'));
  expect(name).toBe('parachute-backup-2026-12-02T03-00-00-000Z.tar.gz.age');
  expect(BACKUP_NAME.test(name)).toBe(true);
  expect(BACKUP_NAME.test(`${name}.partial-ab12`)).toBe(false);
});

describe('S3 target', () => {
  const name = backupName(new Date('2026-12-02T03:00:00.000Z'));

  test('round trip of a 12 MiB backup, uploaded in parts under the key prefix', async () => {
    const target = s3Target();
    expect(target.describe()).toBe(`S3 bucket ${s3.bucket} at ${proxy.endpoint} (prefix hub-one/)`);
    await target.probe();
    const file = randomFile(work, 's3-round.bin', 12 * 1024);
    proxy.requests.length = 0;
    expect(await target.put(name, file)).toBe(12 << 20);
    // Multipart: the upload was started with ?uploads and sent in parts.
    expect(proxy.requests.some((r) => r.method === 'POST' && r.query.includes('uploads'))).toBe(
      true,
    );
    expect(proxy.requests.filter((r) => r.query.includes('partNumber')).length).toBeGreaterThan(1);
    expect(await allKeys()).toEqual([`hub-one/${name}`]);

    const listed = await target.list();
    expect(listed.map((o) => [o.name, o.size])).toEqual([[name, 12 << 20]]);
    expect(Math.abs((listed[0]?.modified ?? 0) - Date.now())).toBeLessThan(120_000);

    const back = join(work, 's3-round.out');
    expect(await target.get(name, back)).toBe(12 << 20);
    expect(sameBytes(file, back)).toBe(true);

    await target.remove(name);
    await target.remove(name); // already gone: fine
    expect(await target.list()).toEqual([]);
    expect(await allKeys()).toEqual([]);
  }, 60_000);

  test('list shows only finished backups under its own prefix', async () => {
    const target = s3Target();
    const other = s3Target({ prefix: '/hub-two/' });
    const file = randomFile(work, 's3-small.bin', 1 * 1024);
    await target.put(name, file);
    await other.put(backupName(new Date('2026-12-01T03:00:00.000Z')), file);
    const client = new S3Client({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    await client.write('hub-one/notes.txt', 'not a backup');
    await client.write(`hub-one/${name}.partial-1234`, 'not a backup');
    expect((await target.list()).map((o) => o.name)).toEqual([name]);
    expect((await other.list()).map((o) => o.name)).toEqual([
      'parachute-backup-2026-12-01T03-00-00-000Z.tar.gz.age',
    ]);
    // "/hub-two/" was taken as the prefix "hub-two/".
    expect(await allKeys()).toContain(
      'hub-two/parachute-backup-2026-12-01T03-00-00-000Z.tar.gz.age',
    );
    // probe() cleans up after itself.
    await target.probe();
    expect((await allKeys()).filter((k) => k.includes('probe'))).toEqual([]);
  });

  test('wrong secret: S3 refuses the credentials, said plainly', async () => {
    const target = s3Target({ secret: 'not-the-secret' });
    const error = await refusal(target.probe());
    expect(error.message).toBe(
      `S3 refused the credentials when asked to write a test object to bucket ${s3.bucket} at ${proxy.endpoint} (SignatureDoesNotMatch)`,
    );
    expect(error.hint).toContain('access key id and secret key');
    const put = await refusal(target.put(name, randomFile(work, 's3-cred.bin', 6 * 1024)));
    expect(put.message).toContain('S3 refused the credentials when asked to upload');
    expect((await refusal(target.list())).message).toContain('S3 refused the credentials');
  }, 30_000);

  test('unknown access key: the same clear answer', async () => {
    const error = await refusal(s3Target({ keyId: 'AKNOTAKEY' }).probe());
    expect(error.message).toContain('S3 refused the credentials');
    expect(error.message).toContain('InvalidAccessKeyId');
  });

  test('a bucket that does not exist', async () => {
    const error = await refusal(s3Target({ bucket: 'no-such-bucket' }).probe());
    expect(error.message).toBe(`the bucket no-such-bucket does not exist at ${proxy.endpoint}`);
    expect(error.hint).toContain('Create the bucket');
  });

  test('endpoint down: cannot reach it, with what to check', async () => {
    const target = s3Target();
    proxy.set('down');
    try {
      const error = await refusal(target.probe());
      expect(error.message).toBe(
        `cannot reach the S3 endpoint ${proxy.endpoint}: ConnectionRefused`,
      );
      expect(error.hint).toContain('that the service is up');
      const put = await refusal(target.put(name, randomFile(work, 's3-down.bin', 6 * 1024)));
      expect(put.message).toStartWith('cannot reach the S3 endpoint');
      expect((await refusal(target.list())).message).toStartWith('cannot reach the S3 endpoint');
    } finally {
      proxy.set('pass');
    }
    await target.probe(); // and back
  }, 30_000);

  test('an endpoint that accepts connections and never answers: a deadline, not a hang', async () => {
    const quick = new S3Target({
      endpoint: proxy.endpoint,
      bucket: s3.bucket,
      region: 'us-east-1',
      prefix: '',
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      timeoutMs: 1000,
    });
    proxy.set('hang');
    try {
      const started = performance.now();
      const error = await refusal(quick.probe());
      expect(performance.now() - started).toBeLessThan(5000);
      expect(error.message).toBe(`the S3 endpoint ${proxy.endpoint} did not answer within 1 s`);
      expect((await refusal(quick.list())).message).toContain('did not answer');
    } finally {
      proxy.set('pass');
    }
  }, 30_000);

  test('a host name that does not resolve', async () => {
    const error = await refusal(s3Target({ endpoint: 'http://s3.example.invalid' }).probe());
    expect(error.message).toStartWith('cannot reach the S3 endpoint http://s3.example.invalid: ');
  }, 30_000);

  test('the service answers 500: a storage-side failure, to retry later', async () => {
    proxy.set('error500');
    try {
      const error = await refusal(s3Target().probe());
      expect(error.message).toContain(
        `the S3 service at ${proxy.endpoint} failed to write a test object`,
      );
      expect(error.message).toContain('InternalError');
      expect(error.hint).toContain('tries again');
    } finally {
      proxy.set('pass');
    }
  }, 60_000);

  test('a corrupted object is caught by age when decrypted, and nothing is kept', async () => {
    const target = s3Target();
    const identity = await newDrillIdentity();
    const plain = randomFile(work, 's3-corrupt.tar.gz', 3 * 1024);
    const sealed = join(work, 's3-corrupt.age');
    await encryptFile(plain, sealed, {
      kind: 'recipient',
      recipient: await recipientOf(identity),
      drillIdentity: identity,
    });
    await target.put(name, sealed);
    const fetched = join(work, 's3-corrupt.fetched');
    proxy.set('corruptGets');
    try {
      expect(await target.get(name, fetched)).toBe(statSync(sealed).size);
    } finally {
      proxy.set('pass');
    }
    const out = join(work, 's3-corrupt.out');
    const error = await refusal(decryptFile(fetched, out, { identities: [identity] }));
    expect(error.message).toBe(
      "s3-corrupt.fetched is damaged or cut off: age's authentication check failed",
    );
    expect(existsSync(out)).toBe(false);
    // The intact object still decrypts.
    const again = join(work, 's3-intact.fetched');
    await target.get(name, again);
    await decryptFile(again, out, { identities: [identity] });
    expect(sameBytes(plain, out)).toBe(true);
  }, 30_000);

  test('a download cut off halfway fails clearly and leaves no file', async () => {
    const target = s3Target();
    await target.put(name, randomFile(work, 's3-cut.bin', 2 * 1024));
    const dest = join(work, 's3-cut.fetched');
    proxy.set('truncateGets');
    try {
      const error = await refusal(target.get(name, dest));
      expect(error.message).toMatch(/stopped after 1048576 of 2097152 bytes$/);
    } finally {
      proxy.set('pass');
    }
    expect(existsSync(dest)).toBe(false);
  }, 30_000);

  test('a backup that is not there', async () => {
    const missing = backupName(new Date('2020-01-01T00:00:00.000Z'));
    const error = await refusal(s3Target().get(missing, join(work, 'missing.fetched')));
    expect(error.message).toContain('the object is missing from S3 bucket');
    expect(existsSync(join(work, 'missing.fetched'))).toBe(false);
  });

  test('figures: put and get of 100 MiB against s3rver', async () => {
    const target = s3Target({ endpoint: s3.endpoint, prefix: 'bench' });
    const file = randomFile(work, 's3-bench.bin', 100 * 1024);
    let t = performance.now();
    await target.put(name, file);
    const putMs = performance.now() - t;
    const back = join(work, 's3-bench.out');
    t = performance.now();
    await target.get(name, back);
    const getMs = performance.now() - t;
    console.log(
      `S3 (s3rver on loopback) 100 MiB: put ${(100_000 / putMs).toFixed(0)} MiB/s, get ${(100_000 / getMs).toFixed(0)} MiB/s`,
    );
    expect(sameBytes(file, back)).toBe(true);
    await target.remove(name);
    rmSync(file);
    rmSync(back);
  }, 120_000);
});

describe('local folder target', () => {
  const name = backupName(new Date('2026-12-02T03:00:00.000Z'));

  test('round trip of a multi-MB backup into a folder it creates 0700', async () => {
    const folder = join(work, 'local', 'nested');
    const target = openTarget({ kind: 'local', path: folder });
    expect(target.describe()).toBe(`folder ${folder}`);
    await target.probe();
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(readdirSync(folder)).toEqual([]); // the probe cleans up
    const file = randomFile(work, 'local-round.bin', 8 * 1024);
    expect(await target.put(name, file)).toBe(8 << 20);
    expect(statSync(join(folder, name)).mode & 0o777).toBe(0o600);
    expect((await target.list()).map((o) => [o.name, o.size])).toEqual([[name, 8 << 20]]);
    const back = join(work, 'local-round.out');
    expect(await target.get(name, back)).toBe(8 << 20);
    expect(sameBytes(file, back)).toBe(true);
    await target.remove(name);
    await target.remove(name);
    expect(await target.list()).toEqual([]);
  });

  test('never lists partial copies; removes those a day old, keeps fresh ones', async () => {
    const folder = join(work, 'partials');
    mkdirSync(folder);
    const target = new LocalTarget(folder);
    const fresh = `${name}.partial-aa11`;
    const stale = `${backupName(new Date('2026-11-01T03:00:00.000Z'))}.partial-bb22`;
    writeFileSync(join(folder, fresh), 'half');
    writeFileSync(join(folder, stale), 'half');
    const twoDaysAgo = (Date.now() - 2 * 24 * 3600_000) / 1000;
    utimesSync(join(folder, stale), twoDaysAgo, twoDaysAgo);
    writeFileSync(join(folder, 'notes.txt'), 'someone else’s file');
    const older = backupName(new Date('2026-12-01T03:00:00.000Z'));
    writeFileSync(join(folder, older), 'older backup');
    utimesSync(join(folder, older), twoDaysAgo, twoDaysAgo);
    writeFileSync(join(folder, name), 'newer backup');
    expect((await target.list()).map((o) => o.name)).toEqual([older, name]); // oldest first
    expect(readdirSync(folder).sort()).toEqual([fresh, 'notes.txt', older, name].sort());
  });

  test('a missing backup, a path that is a file, a relative path', async () => {
    const folder = join(work, 'empty');
    const target = new LocalTarget(folder);
    expect(await target.list()).toEqual([]); // not created yet: nothing there
    const missing = await refusal(target.get(name, join(work, 'x.out')));
    expect(missing.message).toBe(`the backup ${name} is not in the folder ${folder}`);
    expect(existsSync(join(work, 'x.out'))).toBe(false);

    writeFileSync(join(work, 'a-file'), 'x');
    const notFolder = await refusal(new LocalTarget(join(work, 'a-file')).probe());
    expect(notFolder.message).toBe(
      `the backup folder ${join(work, 'a-file')} is not a folder (something else has that path)`,
    );
    expect(() => new LocalTarget('backups')).toThrow('is not an absolute path');
  });
});
