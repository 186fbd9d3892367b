/**
 * Scheduled backups to S3-compatible storage through the real hub (issue 18
 * point 3): s3rver, a real S3-speaking server, on loopback behind a fault
 * proxy that takes the target down, answers 500s or corrupts what it gives
 * back. Archives are encrypted to the operator's age recipient (plus the
 * hub's own drill identity); the operator's key alone opens them.
 */

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from 'bun';
import { decryptFile, newDrillIdentity, recipientOf } from '../src/backup/age-file.ts';
import { checkExport } from '../src/backup/import.ts';
import { type BackupRun, backUpNow } from './helpers/backups.ts';
import { hubWithOperator, type OperatorCall, trackHubs } from './helpers/modules.ts';
import { type FaultProxy, faultProxy, type S3Server, startS3Server } from './helpers/s3-server.ts';

const hubs = trackHubs();
const work = mkdtempSync(join(tmpdir(), 'parachute-backups-s3-'));
let s3: S3Server;
let proxy: FaultProxy;
let operatorIdentity: string;
let operatorRecipient: string;
let call: OperatorCall;

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = faultProxy(s3.endpoint);
  operatorIdentity = await newDrillIdentity();
  operatorRecipient = await recipientOf(operatorIdentity);
  const started = await hubWithOperator(hubs);
  call = started.call;
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

const PREFIX = 'hubs/home/';

function s3Config(secret: string) {
  return {
    // Paused: these tests start each run themselves, after setting the fault.
    enabled: false,
    target: {
      kind: 's3',
      endpoint: proxy.endpoint,
      bucket: s3.bucket,
      region: 'us-east-1',
      prefix: PREFIX,
      access_key_id: s3.accessKeyId,
      secret_access_key: secret,
    },
    encryption: { kind: 'recipient', recipient: operatorRecipient },
  };
}

/** The bucket as the storage itself lists it (straight to s3rver, past the proxy). */
function bucket() {
  return new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: 'us-east-1',
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
}

async function objectNames(): Promise<string[]> {
  const listed = await bucket().list({ prefix: PREFIX });
  return (listed.contents ?? []).map((o) => o.key.slice(PREFIX.length)).sort();
}

const runOnce = () => backUpNow(call);

describe('scheduled backups to S3-compatible storage', () => {
  test('wrong credentials are refused when saving, and nothing is saved', async () => {
    const res = await call('PUT', '/api/hub/backups/config', s3Config('not-the-secret'));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('backup_target_unreachable');
    expect(String(res.json.error_description)).toMatch(/credentials|signature|access/i);
    expect(String(res.json.error_description)).not.toContain('not-the-secret');
    expect((await call('GET', '/api/hub/backups')).json.config).toBeNull();
  }, 30_000);

  test('a run is stored encrypted to the operator, who alone needs their key to open it', async () => {
    const saved = await call('PUT', '/api/hub/backups/config', s3Config(s3.secretAccessKey));
    expect(saved.status).toBe(200);
    // The secret is never shown back.
    expect(saved.text).not.toContain(s3.secretAccessKey);
    expect((saved.json.config as { target: Record<string, unknown> }).target.secret_set).toBe(true);
    const run = await runOnce();
    expect(run.error).toBeNull();
    expect(run.state).toBe('ok');
    expect(run.drill?.ok).toBe(true);
    expect(await objectNames()).toEqual([run.object as string]);
    // The operator's own identity opens it (the hub's drill identity never leaves the hub).
    const sealed = join(work, 'fetched.age');
    await Bun.write(sealed, bucket().file(`${PREFIX}${run.object}`));
    const opened = join(work, 'opened.tar.gz');
    await decryptFile(sealed, opened, { identities: [operatorIdentity] });
    const manifest = await checkExport(opened);
    expect(manifest.files.some((f) => f.path === 'hub.db' && f.kind === 'sqlite')).toBe(true);
    // Re-saving without the secret keeps the stored one.
    const resaved = await call('PUT', '/api/hub/backups/config', s3Config(''));
    expect(resaved.status).toBe(200);
  }, 60_000);

  test('storage that is down: the run fails at upload, saying so', async () => {
    const before = await objectNames();
    proxy.set('down');
    try {
      const run = await runOnce();
      expect(run.state).toBe('failed');
      expect(run.stage).toBe('upload');
      expect(run.error).toMatch(/cannot reach|connect/i);
      const status = (await call('GET', '/api/hub/backups')).json.status as { state: string };
      expect(status.state).toBe('failing');
    } finally {
      proxy.set('pass');
    }
    expect(await objectNames()).toEqual(before);
  }, 60_000);

  test('storage answering 500s: the run fails with its answer', async () => {
    proxy.set('error500');
    try {
      const run = await runOnce();
      expect(run.state).toBe('failed');
      expect(run.stage).toBe('upload');
      expect(run.error).toMatch(/500|internal/i);
    } finally {
      proxy.set('pass');
    }
  }, 60_000);

  test('an object that comes back corrupted fails the drill and is not kept', async () => {
    const before = await objectNames();
    proxy.set('corruptGets');
    let run: BackupRun;
    try {
      run = await runOnce();
    } finally {
      proxy.set('pass');
    }
    expect(run.state).toBe('failed');
    expect(['download', 'drill']).toContain(run.stage);
    expect(run.error).toBeString();
    // What was written is removed: nothing in the bucket passes for a good archive.
    expect(await objectNames()).toEqual(before);
    // And the next run, with the storage healthy again, is good.
    const next = await runOnce();
    expect(next.state).toBe('ok');
  }, 90_000);
});
