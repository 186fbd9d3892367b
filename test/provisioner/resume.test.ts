// Issue 20 point 3: the provisioner is a real process (`parachute provisioner
// serve`) killed with SIGKILL in the middle of a job, twice, and started
// again on the same provisioner.db: the job finishes and nothing is created
// twice. Also: a misconfigured provisioner refuses to start and says why.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeDns, startFakeDns } from '../helpers/fake-dns.ts';
import { type FlySim, startFlySim } from '../helpers/fly-sim.ts';
import {
  admin,
  checkoutEvent,
  DOMAIN,
  postWebhook,
  provisionerEnv,
  sign,
  until,
} from '../helpers/provisioner.ts';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.ts';

const CLI = join(import.meta.dir, '../helpers/provisioner-main.ts');

let sim: FlySim;
let dns: FakeDns;
let smtp: SmtpSink;
const children: ReturnType<typeof Bun.spawn>[] = [];

beforeAll(async () => {
  sim = startFlySim();
  dns = startFakeDns();
  smtp = await startSmtpSink();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await sim.stop();
  await dns.stop();
  await smtp.stop();
});

/** Starts `parachute provisioner serve` and resolves with its URL once it listens. */
async function startProcess(env: Record<string, string>) {
  const child = Bun.spawn([process.execPath, CLI, 'provisioner', 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  children.push(child);
  const reader = child.stdout.getReader();
  let out = '';
  const url = await until(
    'the provisioner to listen',
    async () => {
      const { value, done } = await reader.read();
      if (done)
        throw new Error(`the provisioner exited: ${out}${await new Response(child.stderr).text()}`);
      out += new TextDecoder().decode(value);
      return /listening on (http:\/\/\S+),/.exec(out)?.[1];
    },
    30_000,
  );
  // Keep draining its output so a full pipe never blocks it.
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { child, url };
}

async function steps(url: string, slug: string) {
  const res = await admin(url, `/status/${slug}`);
  if (res.status !== 200) return undefined;
  return (await res.json()) as {
    state: string;
    steps: { step: string; state: string; attempts: number }[];
  };
}

test('SIGKILL mid-job (after Fly made the machine but before it was recorded, then while waiting for health): on restart the job finishes, nothing is created twice', async () => {
  const env = provisionerEnv({ sim, dns, smtp });
  const email = 'katherine@example.test';
  const slug = 'katherine';

  // 1. Killed after Fly created the machine but before the provisioner heard back.
  const paused = sim.pauseAfter('POST', /\/machines$/);
  let p = await startProcess(env);
  const payload = checkoutEvent({ email, slug });
  expect((await postWebhook(p.url, payload, await sign(payload))).status).toBe(200);
  await paused.reached;
  p.child.kill('SIGKILL');
  await p.child.exited;
  paused.release();
  expect(sim.apps.get(`parachute-${slug}`)?.machines).toHaveLength(1);

  // 2. Started again: it resumes at fly_machine (finds the machine), then is killed waiting for health.
  sim.holdHealth = true;
  p = await startProcess(env);
  const resumed = await until('the job to wait for health', async () => {
    const s = await steps(p.url, slug);
    const wait = s?.steps.find((x) => x.step === 'wait_health');
    return wait?.state === 'running' ? s : undefined;
  });
  expect(resumed.steps.find((x) => x.step === 'fly_machine')).toMatchObject({
    state: 'done',
    attempts: 2,
  });
  p.child.kill('SIGKILL');
  await p.child.exited;

  // 3. Started a third time with the hub healthy: the job completes.
  sim.holdHealth = false;
  p = await startProcess(env);
  const mail = await smtp.waitFor(email);
  expect(mail.text).toContain(`https://${slug}.${DOMAIN}/admin/setup`);
  const done = await until('the job to be done', async () => {
    const s = await steps(p.url, slug);
    return s?.state === 'done' ? s : undefined;
  });
  expect(done.steps.every((s) => s.state === 'done')).toBe(true);
  expect(done.steps.find((s) => s.step === 'wait_health')?.attempts).toBe(2);

  // Nothing twice: one app, one volume, one machine, one pair of IPs, one certificate, one record, one mail.
  expect(sim.created()).toEqual({ apps: 1, volumes: 1, machines: 1, ips: 2, certificates: 1 });
  const app = sim.apps.get(`parachute-${slug}`);
  expect(app?.machines).toHaveLength(1);
  expect(app?.volumes).toHaveLength(1);
  expect(dns.records()).toHaveLength(1);
  expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);

  p.child.kill('SIGTERM');
  expect(await p.child.exited).toBe(0);
});

test('a provisioner missing configuration refuses to start and names each variable', async () => {
  const child = Bun.spawn([process.execPath, CLI, 'provisioner', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'provisioner-home-')),
      STRIPE_WEBHOOK_SECRET: 'sk_live_oops',
      PROVISIONER_ADMIN_TOKEN: 'short',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  children.push(child);
  expect(await child.exited).toBe(1);
  const err = await new Response(child.stderr).text();
  expect(err).toContain('FLY_API_TOKEN is not set');
  expect(err).toContain(
    'STRIPE_WEBHOOK_SECRET must be the endpoint signing secret starting with whsec_',
  );
  expect(err).toContain('PROVISIONER_ADMIN_TOKEN must be at least 32 characters');
  expect(err).toContain('CLOUDFLARE_ZONE_ID is not set');
  // The wrong secret's value is not echoed back.
  expect(err).not.toContain('sk_live_oops');
});
