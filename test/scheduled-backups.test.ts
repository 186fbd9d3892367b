/**
 * Scheduled backups through the hub's API (issue 18 point 3), against the
 * real compiled hub: a local-folder target here (S3 in
 * scheduled-backups-s3.test.ts), age-encrypted to a passphrase, every run
 * proven by its restore drill, failures reported on the API, in
 * `parachute status` and to a webhook on loopback.
 */

import { afterAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { type BackupRun, backupRunEnded } from './helpers/backups.ts';
import { runBinary, waitFor } from './helpers/binary.ts';
import {
  hubWithOperator,
  type OperatorCall,
  operatorClient,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
const work = mkdtempSync(join(tmpdir(), 'parachute-backups-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PASSPHRASE = 'a long passphrase nobody guesses';

type Run = BackupRun;
type View = {
  config: Record<string, unknown> | null;
  status: { state: string; message: string; next_run_at: number | null };
  runs: Run[];
};

const view = async (call: OperatorCall) => (await call('GET', '/api/hub/backups')).json as View;

const finished = backupRunEnded;

function localConfig(folder: string, extra: Record<string, unknown> = {}) {
  return {
    enabled: true,
    schedule: { every: 'daily', at: '03:00' },
    retention: { keep: 7, max_age_days: 30 },
    target: { kind: 'local', path: folder },
    encryption: { kind: 'passphrase', passphrase: PASSPHRASE },
    webhook_url: null,
    ...extra,
  };
}

/** A loopback webhook receiver: what the hub POSTed, in order. */
function webhookReceiver() {
  const received: Record<string, unknown>[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      received.push((await request.json()) as Record<string, unknown>);
      return new Response('ok');
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, received, stop: () => server.stop(true) };
}

describe('scheduled backups to a local folder', () => {
  test('saving a schedule runs the first backup at once, proven by its restore drill', async () => {
    const { hub, call, bin } = await hubWithOperator(hubs);
    const folder = join(work, 'first', 'backups');
    const saved = await call('PUT', '/api/hub/backups/config', localConfig(folder));
    expect(saved.status).toBe(200);
    // The passphrase is stored for the hub alone and never shown back.
    expect(saved.text).not.toContain(PASSPHRASE);
    const file = join(hub.home, 'backup.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((saved.json.config as { encryption: unknown }).encryption).toEqual({
      kind: 'passphrase',
      passphrase_set: true,
    });

    const run = await finished(call);
    expect(run.trigger).toBe('schedule');
    expect(run.error).toBeNull();
    expect(run.state).toBe('ok');
    expect(run.stage).toBe('done');
    // The drill restored hub.db and counted its rows against the snapshot's.
    expect(run.drill?.ok).toBe(true);
    expect(run.drill?.databases).toBeGreaterThanOrEqual(1);
    expect(run.drill?.rows).toBeGreaterThan(0);
    // The archive in the folder is age-encrypted, with nothing else beside it.
    expect(readdirSync(folder)).toEqual([run.object as string]);
    const stored = readFileSync(join(folder, run.object as string));
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(stored.includes(Buffer.from('SQLite format 3'))).toBe(false);
    expect(stored.length).toBe(run.stored_bytes as number);

    const after = await view(call);
    expect(after.status.state).toBe('ok');
    // The next run is tomorrow's (or today's) 03:00, not now.
    expect(after.status.next_run_at).toBeGreaterThan(Date.now());
    const status = await runBinary(bin, ['status'], { env: { PARACHUTE_HOME: hub.home } });
    expect(status.stdout).toContain('backups: ok');
    expect(JSON.stringify(after)).not.toContain(PASSPHRASE);

    // A new target starts afresh: its first run is at once, and its status is its own.
    const moved = join(work, 'first', 'elsewhere');
    expect((await call('PUT', '/api/hub/backups/config', localConfig(moved))).status).toBe(200);
    const there = await waitFor('a run to the new folder', async () => {
      const next = (await view(call)).runs.find((r) => r.id !== run.id);
      return next && next.state !== 'running' ? next : undefined;
    });
    expect(there.state).toBe('ok');
    expect(readdirSync(moved)).toEqual([there.object as string]);
  }, 90_000);

  test('wrong settings are refused field by field, and nothing is saved', async () => {
    const { hub, call } = await hubWithOperator(hubs);
    const bad = await call('PUT', '/api/hub/backups/config', {
      ...localConfig('relative/folder'),
      retention: { keep: 0, max_age_days: 30 },
      encryption: { kind: 'passphrase', passphrase: 'short' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_backup_config');
    const fields = bad.json.fields as Record<string, string>;
    expect(fields['target.path']).toContain('absolute');
    expect(fields['retention.keep']).toBeDefined();
    expect(fields['encryption.passphrase']).toContain('12');
    // A recipient age cannot encrypt to (a typo breaks its checksum), and an SSH key.
    for (const recipient of [
      'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI',
    ]) {
      const res = await call('PUT', '/api/hub/backups/config', {
        ...localConfig(join(work, 'recipient')),
        encryption: { kind: 'recipient', recipient },
      });
      expect(res.status).toBe(400);
      expect((res.json.fields as Record<string, string>)['encryption.recipient']).toMatch(
        /not a valid age recipient|not supported/,
      );
    }
    // A folder inside the hub's home would be exported into every later backup.
    const inside = await call('PUT', '/api/hub/backups/config', localConfig(join(hub.home, 'bk')));
    expect(inside.status).toBe(400);
    expect((inside.json.fields as Record<string, string>)['target.path']).toContain(
      'outside PARACHUTE_HOME',
    );
    // A target that cannot be written: a file where the folder should be.
    const blocker = join(work, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const unreachable = await call('PUT', '/api/hub/backups/config', localConfig(blocker));
    expect(unreachable.status).toBe(400);
    expect(unreachable.json.error).toBe('backup_target_unreachable');
    expect(existsSync(join(hub.home, 'backup.json'))).toBe(false);
    expect((await view(call)).status.state).toBe('off');
  }, 60_000);

  test('only admins see or change backups, and a session needs its CSRF token', async () => {
    const { url, call } = await hubWithOperator(hubs);
    const created = await call('POST', '/api/users', { username: 'reader', role: 'user' });
    expect(created.status).toBe(201);
    const user = new ApiClient(url);
    await user.login('reader', created.json.temporary_password as string);
    expect((await user.get('/api/hub/backups')).status).toBe(403);
    const config = localConfig(join(work, 'csrf'));
    expect((await user.put('/api/hub/backups/config', config)).status).toBe(403);
    const admin = new ApiClient(url, { csrf: false });
    await admin.login(ADMIN.username, ADMIN.password);
    expect((await admin.put('/api/hub/backups/config', config)).status).toBe(403);
    expect((await admin.post('/api/hub/backups/run')).status).toBe(403);
    expect((await fetch(`${url}/api/hub/backups`)).status).toBe(401);
  }, 60_000);

  test('a failing target shows as failing, tells the webhook once, and recovers', async () => {
    const hook = webhookReceiver();
    try {
      const { hub, call, bin } = await hubWithOperator(hubs);
      const folder = join(work, 'failing', 'backups');
      const saved = await call(
        'PUT',
        '/api/hub/backups/config',
        localConfig(folder, { webhook_url: hook.url }),
      );
      expect(saved.status).toBe(200);
      const first = await finished(call);
      expect(first.state).toBe('ok');
      // The folder goes away and a file takes its place (a disk unmounted, a path reused).
      rmSync(folder, { recursive: true });
      writeFileSync(folder, 'not a folder');
      const started = await call('POST', '/api/hub/backups/run');
      expect(started.status).toBe(202);
      const failed = await finished(call, (started.json.run as Run).id);
      expect(failed.state).toBe('failed');
      expect(failed.stage).toBe('upload');
      expect(failed.error).toContain(folder);
      const status = (await view(call)).status;
      expect(status.state).toBe('failing');
      expect(status.message).toContain('upload');
      const cli = await runBinary(bin, ['status'], { env: { PARACHUTE_HOME: hub.home } });
      expect(cli.stdout).toContain('backups: failing (!)');
      const alert = await waitFor('the webhook', () =>
        hook.received.find((b) => b.event === 'backup.failed'),
      );
      expect(alert.hub).toBeString();
      expect(String(alert.text)).toContain('failed');
      expect(JSON.stringify(hook.received)).not.toContain(PASSPHRASE);
      // Fixed: the next run is good, and the webhook hears so.
      rmSync(folder);
      const again = await call('POST', '/api/hub/backups/run');
      expect((await finished(call, (again.json.run as Run).id)).state).toBe('ok');
      await waitFor('the recovery webhook', () =>
        hook.received.find((b) => b.event === 'backup.recovered'),
      );
      expect(hook.received.filter((b) => b.event === 'backup.failed')).toHaveLength(1);
    } finally {
      hook.stop();
    }
  }, 90_000);

  test('retention keeps the newest N archives and removes older ones it wrote', async () => {
    const { call } = await hubWithOperator(hubs);
    const folder = join(work, 'retention');
    mkdirSync(folder, { recursive: true });
    // Someone else's file in the same folder is never touched.
    writeFileSync(join(folder, 'notes.txt'), 'mine');
    const saved = await call(
      'PUT',
      '/api/hub/backups/config',
      localConfig(folder, { retention: { keep: 2, max_age_days: 30 } }),
    );
    expect(saved.status).toBe(200);
    const objects: string[] = [(await finished(call)).object as string];
    for (let i = 0; i < 2; i++) {
      const started = await call('POST', '/api/hub/backups/run');
      expect(started.status).toBe(202);
      const run = await finished(call, (started.json.run as Run).id);
      expect(run.state).toBe('ok');
      objects.push(run.object as string);
    }
    expect(new Set(objects).size).toBe(3);
    expect(readdirSync(folder).sort()).toEqual([...objects.slice(1), 'notes.txt'].sort());
  }, 120_000);

  test('a second run while one is running is refused', async () => {
    const { call } = await hubWithOperator(hubs);
    const saved = await call('PUT', '/api/hub/backups/config', localConfig(join(work, 'busy')));
    expect(saved.status).toBe(200);
    // The first run started when the settings were saved.
    const second = await call('POST', '/api/hub/backups/run');
    if (second.status === 409) expect(second.json.error).toBe('backup_running');
    else expect(second.status).toBe(202);
    await finished(call);
  }, 60_000);

  test('a hub killed mid-backup leaves nothing that passes for a good archive', async () => {
    const { hub, call } = await hubWithOperator(hubs);
    // Enough data that the backup takes a while: a big file in the home, incompressible.
    const big = join(hub.home, 'modules', 'bulk.bin');
    mkdirSync(join(hub.home, 'modules'), { recursive: true });
    writeFileSync(big, randomBytes(60 * 1024 * 1024));
    const folder = join(work, 'killed');
    expect((await call('PUT', '/api/hub/backups/config', localConfig(folder))).status).toBe(200);
    // Killed while the archive is being written into the target folder.
    await waitFor(
      'the upload to begin',
      () =>
        existsSync(folder) && readdirSync(folder).some((f) => f.includes('.partial'))
          ? true
          : undefined,
      60_000,
    );
    hub.proc.kill('SIGKILL');
    await hub.proc.exited;
    // Whatever was written to the target is a partial, never a finished name.
    const names = existsSync(folder) ? readdirSync(folder) : [];
    expect(names.filter((n) => n.endsWith('.tar.gz.age'))).toEqual([]);
    // Started again, the hub records the run as cut short and clears its scratch.
    const again = await freshHub({}, hub.home);
    hubs.push(again.hub);
    const runs = (await view(operatorClient(again.url, hub.home))).runs;
    expect(runs[0]?.state).toBe('failed');
    expect(runs[0]?.error).toContain('stopped during this backup');
    expect(readdirSync(join(hub.home, 'tmp')).filter((f) => f.startsWith('backup-'))).toEqual([]);
    rmSync(big);
  }, 120_000);
});
