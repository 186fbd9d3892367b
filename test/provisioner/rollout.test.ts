// Issue 20 point 5: `parachute provisioner rollout` against the fake Fly
// Machines API whose machines run the real hub through its launcher: a
// canary that cannot be rolled (its lease is held) stops the rollout before
// any other hub is touched; once free, every hub is rolled through its lease
// and answers the new version on /health; a third run changes nothing.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { Provisioner } from '../../src/provisioner/server.ts';
import { VERSION } from '../../src/version.ts';
import type { FakeFly } from '../helpers/fake-fly.ts';
import { edgeFetch } from '../helpers/fly-edge.ts';
import { buildVersion, NEW_VERSION, removeBuild } from '../helpers/newer-build.ts';
import { checkoutEvent, postWebhook, realHubFleet, sign, until } from '../helpers/provisioner.ts';
import type { ReleaseServer } from '../helpers/release-server.ts';

const IMAGE = 'registry.test/parachute-hub:rollout';
const MAIN = join(import.meta.dir, '../helpers/provisioner-main.ts');
const SLUGS = ['roll-a', 'roll-b', 'roll-c'];
const APPS = SLUGS.map((s) => `parachute-${s}`) as [string, string, string];

let fly: FakeFly;
let release: ReleaseServer;
let provisioner: Provisioner;
let stopFleet: (() => Promise<void>) | undefined;
let env: Record<string, string>;
let newer: string | undefined;

beforeAll(async () => {
  ({
    fly,
    release,
    env,
    provisioner,
    stop: stopFleet,
  } = await realHubFleet({
    image: IMAGE,
    extra: { PROVISIONER_HEALTH_TIMEOUT_S: '90' },
  }));
});

afterAll(async () => {
  await stopFleet?.();
  removeBuild(newer);
});

async function runRollout(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, 'provisioner', 'rollout', ...args, '--json'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (!out.trim()) throw new Error(`rollout printed nothing (exit ${code}): ${err}`);
  return {
    code,
    report: JSON.parse(out) as {
      upgraded: number;
      already: number;
      failed: number;
      skipped: number;
      requests: number;
      apps: {
        app: string;
        outcome: string;
        canary: boolean;
        from: string | null;
        error: string | null;
      }[];
    },
  };
}

async function healthVersion(app: string): Promise<string | undefined> {
  const res = await edgeFetch(fly.edge)(`https://${app}.fly.dev/health`);
  return res.ok ? ((await res.json()) as { version: string }).version : undefined;
}

const machineOf = (app: string) => fly.machines().find((m) => m.app === app);

test('a held canary stops the rollout untouched; then every hub is rolled and answers the new version; again, nothing changes', async () => {
  for (const slug of SLUGS) {
    const payload = checkoutEvent({ email: `${slug}@example.test`, slug });
    expect((await postWebhook(provisioner.url, payload, await sign(payload))).status).toBe(200);
  }
  await until(
    'three live hubs',
    () =>
      provisioner.jobs.list().filter((j) => j.state === 'done').length === 3 ? true : undefined,
    120_000,
  );
  const apps = APPS;
  newer = await buildVersion(NEW_VERSION);
  release.publish({ binary: newer, version: NEW_VERSION });

  // Someone else (a dashboard action, another deploy) holds the canary's lease.
  const canary = machineOf(apps[0] as string);
  const lease = await fetch(`${fly.api}/v1/apps/${apps[0]}/machines/${canary?.id}/lease?ttl=120`, {
    method: 'POST',
    headers: { authorization: fly.token },
  });
  expect(lease.status).toBe(200);
  const nonce = ((await lease.json()) as { data: { nonce: string } }).data.nonce;
  const instances = apps.map((a) => machineOf(a)?.instanceId);

  const stopped = await runRollout(['--to', NEW_VERSION, '--canary', '1', '--concurrency', '2']);
  expect(stopped.code).toBe(1);
  expect(stopped.report.apps.map((a) => [a.app, a.outcome, a.canary])).toEqual([
    [apps[0], 'failed', true],
    [apps[1], 'skipped', false],
    [apps[2], 'skipped', false],
  ]);
  expect(stopped.report.apps[0]?.error).toContain('leased by someone else');
  expect(apps.map((a) => machineOf(a)?.instanceId)).toEqual(instances);
  for (const app of apps) expect(await healthVersion(app)).toBe(VERSION);

  await fetch(`${fly.api}/v1/apps/${apps[0]}/machines/${canary?.id}/lease`, {
    method: 'DELETE',
    headers: { authorization: fly.token, 'fly-machine-lease-nonce': nonce },
  });
  const rolled = await runRollout(['--to', NEW_VERSION, '--canary', '1', '--concurrency', '2']);
  expect(rolled.code).toBe(0);
  expect(rolled.report.apps.map((a) => [a.app, a.outcome, a.from])).toEqual(
    apps.map((a) => [a, 'upgraded', VERSION]),
  );
  for (const app of apps) expect(await healthVersion(app)).toBe(NEW_VERSION);
  console.log(`rollout of 3 hubs: ${rolled.report.requests} Fly requests`);

  const again = await runRollout(['--to', NEW_VERSION]);
  expect(again.code).toBe(0);
  expect(again.report.already).toBe(3);
  expect(apps.map((a) => machineOf(a)?.instanceId)).not.toEqual(instances);
}, 300_000);
