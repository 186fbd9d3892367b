// Issue 20 points 1–3: the provisioner in process against a simulated Fly
// Machines API, a fake Cloudflare DNS API and a real SMTP server, all on
// loopback. Stripe events are signed by Stripe's own library.
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test';
import { loadConfig } from '../../src/provisioner/config.ts';
import { liveDeps } from '../../src/provisioner/live-deps.ts';
import type { SmtpMailer } from '../../src/provisioner/mailer.ts';
import { type Provisioner, startProvisioner } from '../../src/provisioner/server.ts';
import { type FakeDns, startFakeDns } from '../helpers/fake-dns.ts';
import { type FlySim, startFlySim } from '../helpers/fly-sim.ts';
import {
  ADMIN_TOKEN,
  admin,
  checkoutEvent,
  DOMAIN,
  postWebhook,
  provisionerEnv,
  sign,
  subscriptionDeletedEvent,
  until,
} from '../helpers/provisioner.ts';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.ts';

let sim: FlySim;
let dns: FakeDns;
let smtp: SmtpSink;
const running: { p: Provisioner; mailer: SmtpMailer }[] = [];

beforeAll(async () => {
  sim = startFlySim();
  dns = startFakeDns();
  smtp = await startSmtpSink();
});
afterEach(async () => {
  for (const { p, mailer } of running.splice(0)) {
    await p.stop();
    mailer.close();
  }
});
afterAll(async () => {
  await sim.stop();
  await dns.stop();
  await smtp.stop();
});

function start(extra: Record<string, string> = {}): Provisioner {
  const config = loadConfig(provisionerEnv({ sim, dns, smtp, extra }));
  const { fly, mailer } = liveDeps(config);
  const p = startProvisioner(config, { fly, mailer, log: () => {} });
  running.push({ p, mailer });
  return p;
}

async function status(p: Provisioner, slug: string) {
  const res = await admin(p.url, `/status/${slug}`);
  return {
    res,
    body: (await res.json()) as Record<string, unknown> & {
      steps: { step: string; state: string; attempts: number; last_error: string | null }[];
    },
  };
}

test('a paid checkout becomes a hub: Fly app, IPs, volume, secrets, machine, DNS name, certificate, then a setup link by mail', async () => {
  const p = start();
  const email = 'ada@example.test';
  const payload = checkoutEvent({ email, slug: 'Ada Lovelace' });
  const res = await postWebhook(p.url, payload, await sign(payload));
  expect(res.status).toBe(200);
  expect(((await res.json()) as { outcome: string }).outcome).toBe('created');

  const mail = await smtp.waitFor(email);
  const slug = 'ada-lovelace';
  const origin = `https://${slug}.${DOMAIN}`;
  expect(mail.text).toContain(`${origin}/admin/setup`);
  const token = /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0];
  expect(token).toBeDefined();

  // What Fly has: one app with the origin and the same single-use setup token as secrets.
  const app = sim.apps.get(`parachute-${slug}`);
  expect(app?.secrets.get('PARACHUTE_SETUP_TOKEN')).toBe(token as string);
  expect(app?.secrets.get('PARACHUTE_HUB_ORIGIN')).toBe(origin);
  expect(app?.secrets.get('PARACHUTE_EXPORT_TOKEN')).toMatch(
    /^parachute-export-[A-Za-z0-9_-]{43}$/,
  );
  expect(app?.ips.map((i) => i.type).sort()).toEqual(['shared_v4', 'v6']);
  expect(app?.volumes).toHaveLength(1);
  expect(app?.machines).toHaveLength(1);
  // The machine waits for the secrets it boots with, and mounts the volume made for it.
  expect(app?.machines[0]?.min_secrets_version).toBe(app?.secretsVersion as number);
  expect(JSON.stringify(app?.machines[0]?.config.mounts)).toContain(app?.volumes[0]?.id as string);
  expect(app?.certificates).toEqual([`${slug}.${DOMAIN}`]);
  expect(dns.records().filter((r) => r.name === `${slug}.${DOMAIN}`)).toEqual([
    expect.objectContaining({
      type: 'CNAME',
      content: `parachute-${slug}.fly.dev`,
      proxied: false,
    }),
  ]);

  const { body } = await until('the job to be done', async () => {
    const s = await status(p, slug);
    return s.body.state === 'done' ? s : undefined;
  });
  expect(body.origin).toBe(origin);
  expect(body.steps.map((s) => `${s.step}:${s.state}`)).toEqual([
    'pick_slug:done',
    'fly_app:done',
    'fly_ips:done',
    'fly_volume:done',
    'fly_secrets:done',
    'fly_machine:done',
    'wait_health:done',
    'dns_cname:done',
    'fly_certificate:done',
    'certificate_ready:done',
    'email_setup_link:done',
  ]);
  // The setup token is nowhere in what the admin API shows, and no longer kept once mailed.
  expect(JSON.stringify(body)).not.toContain(token as string);
  expect(JSON.stringify(body)).not.toContain(app?.secrets.get('PARACHUTE_EXPORT_TOKEN') as string);
  expect(p.jobs.bySlug(slug)?.setupToken).toBeNull();
});

test('spoofed webhooks (unsigned, wrong secret, tampered, replayed outside tolerance) never reach Fly, DNS or mail', async () => {
  const p = start();
  const flyBefore = sim.calls.length;
  const dnsBefore = dns.calls.length;
  const mailsBefore = smtp.mails.length;
  const payload = checkoutEvent({ email: 'mallory@example.test', slug: 'mallory' });

  const attempts: [string, Response][] = [
    ['unsigned', await postWebhook(p.url, payload, null)],
    ['empty signature', await postWebhook(p.url, payload, '')],
    [
      'wrong secret',
      await postWebhook(p.url, payload, await sign(payload, { secret: 'whsec_not_the_one' })),
    ],
    [
      'tampered body',
      await postWebhook(p.url, payload.replace('mallory@', 'eve@'), await sign(payload)),
    ],
    [
      'replayed 10 minutes later',
      await postWebhook(
        p.url,
        payload,
        await sign(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      ),
    ],
    ['garbage header', await postWebhook(p.url, payload, 't=1,v1=deadbeef')],
  ];
  for (const [what, res] of attempts) {
    expect({ what, status: res.status }).toEqual({ what, status: 400 });
    const body = (await res.json()) as { error: string };
    expect(['missing_signature', 'invalid_signature']).toContain(body.error);
  }
  expect(sim.calls.length).toBe(flyBefore);
  expect(dns.calls.length).toBe(dnsBefore);
  expect(smtp.mails.length).toBe(mailsBefore);
  expect(p.jobs.list()).toHaveLength(0);
});

test('a re-delivered event and a second event for the same checkout session create nothing twice', async () => {
  const p = start();
  const before = sim.created();
  const email = 'grace@example.test';
  const sessionId = `cs_test_${crypto.randomUUID().replaceAll('-', '')}`;
  const first = checkoutEvent({ email, sessionId, slug: 'grace' });
  const header = await sign(first);
  // Stripe retries: the same event several times, some at once.
  const answers = await Promise.all([1, 2, 3].map(() => postWebhook(p.url, first, header)));
  const later = checkoutEvent({
    email,
    sessionId,
    slug: 'grace',
    type: 'checkout.session.async_payment_succeeded',
  });
  answers.push(await postWebhook(p.url, later, await sign(later)));
  const outcomes = await Promise.all(
    answers.map(async (r) => [r.status, ((await r.json()) as { outcome: string }).outcome]),
  );
  expect(outcomes.filter(([, o]) => o === 'created')).toHaveLength(1);
  expect(outcomes.every(([s]) => s === 200)).toBe(true);
  expect(outcomes.at(-1)?.[1]).toBe('duplicate_session');

  await smtp.waitFor(email);
  await until('the job to be done', () =>
    p.jobs.bySlug('grace')?.state === 'done' ? true : undefined,
  );
  // And once more after it is done.
  expect(
    ((await (await postWebhook(p.url, first, await sign(first))).json()) as { outcome: string })
      .outcome,
  ).toBe('duplicate_event');
  await p.runner.idle();
  const after = sim.created();
  expect(after.apps - before.apps).toBe(1);
  expect(after.volumes - before.volumes).toBe(1);
  expect(after.machines - before.machines).toBe(1);
  expect(after.certificates - before.certificates).toBe(1);
  expect(dns.records().filter((r) => r.name === `grace.${DOMAIN}`)).toHaveLength(1);
  expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
  expect(p.jobs.list().filter((j) => j.customerEmail === email)).toHaveLength(1);
});

test('admin endpoints refuse a missing or wrong bearer', async () => {
  const p = start();
  const flyBefore = sim.calls.length;
  const wrong = `x${ADMIN_TOKEN.slice(1)}`;
  for (const res of [
    await fetch(`${p.url}/status/anything`),
    await admin(p.url, '/status/anything', undefined, wrong),
    await admin(p.url, '/jobs', undefined, ''),
    await admin(p.url, '/teardown', { slug: 'anything', force: true }, wrong),
    await admin(p.url, '/retry', { slug: 'anything' }, wrong),
  ]) {
    expect(res.status).toBe(401);
  }
  expect(sim.calls.length).toBe(flyBefore);
});

test('a step that keeps failing retries with backoff, fails the job and alerts the admin; retry finishes it; a live hub’s teardown exports first, so an unreachable hub is not destroyed unless forced', async () => {
  const p = start({ PROVISIONER_STEP_ATTEMPTS: '3', PROVISIONER_RETRY_BASE_MS: '200' });
  dns.failNext(1000, 'POST');
  const email = 'linus@example.test';
  const payload = checkoutEvent({ email, slug: 'linus' });
  expect((await postWebhook(p.url, payload, await sign(payload))).status).toBe(200);

  const alert = await smtp.waitFor('ops@example.test', 30_000, /job \d+ failed \(linus\)/);
  expect(alert.text).toContain('dns_cname');
  expect(alert.text).toContain('Fly app parachute-linus');
  const failed = await status(p, 'linus');
  expect(failed.body.state).toBe('failed');
  const dnsStep = failed.body.steps.find((s) => s.step === 'dns_cname');
  expect(dnsStep).toMatchObject({ state: 'failed', attempts: 3 });
  expect(dnsStep?.last_error).toContain('500');
  // Backoff: the three tries were spread over at least 200 + 400 ms (less 20 % jitter).
  const tries = dns.calls.filter((c) => c.method === 'POST' && c.status === 500);
  expect(tries).toHaveLength(3);
  expect((tries[2]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(480);
  expect(failed.body.resources).toEqual([expect.stringContaining('parachute-linus')]);
  expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);

  // The runbook: fix the cause, then POST /retry.
  dns.failNext(0);
  expect((await admin(p.url, '/retry', { slug: 'linus' })).status).toBe(202);
  await smtp.waitFor(email);
  await until('the retried job to be done', () =>
    p.jobs.bySlug('linus')?.state === 'done' ? true : undefined,
  );

  // Teardown of a live hub exports it first; here the hub cannot be reached, so nothing is destroyed.
  const started = await admin(p.url, '/teardown', { slug: 'linus' });
  expect(started.status).toBe(202);
  await until('the teardown to fail at its export', async () => {
    const s = await status(p, 'linus');
    return s.body.state === 'failed' ? s : undefined;
  });
  const stuck = await status(p, 'linus');
  expect(stuck.body.steps.find((s) => s.step === 'export_hub')).toMatchObject({
    state: 'failed',
    attempts: 3,
  });
  expect(stuck.body.steps.find((s) => s.step === 'destroy_app')?.state).toBe('pending');
  expect(sim.apps.has('parachute-linus')).toBe(true);
  await smtp.waitFor('ops@example.test', 10_000, /job \d+ failed \(linus\)/);
  const refused = await admin(p.url, '/teardown', { slug: 'linus' });
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: string }).error).toBe('export_failed');
  expect(sim.apps.has('parachute-linus')).toBe(true);
  // Only the admin's explicit force destroys without an export.
  const forced = await admin(p.url, '/teardown', { slug: 'linus', force: true });
  expect(forced.status).toBe(200);
  expect(sim.apps.has('parachute-linus')).toBe(false);
  expect(dns.records().some((r) => r.name === `linus.${DOMAIN}`)).toBe(false);
  const gone = await status(p, 'linus');
  expect(gone.body.state).toBe('torn_down');
  expect(gone.body.resources).toEqual([]);
});

test('two payments asking for the same name at once get two hubs with different slugs; a name Fly says is someone else’s is skipped', async () => {
  const p = start();
  sim.foreignNames.add('parachute-twin-2');
  const payloads = ['one@example.test', 'two@example.test'].map((email) =>
    checkoutEvent({ email, slug: 'twin' }),
  );
  const answers = await Promise.all(
    payloads.map(async (payload) => postWebhook(p.url, payload, await sign(payload))),
  );
  expect(answers.map((r) => r.status)).toEqual([200, 200]);
  await smtp.waitFor('one@example.test');
  await smtp.waitFor('two@example.test');
  await p.runner.idle();
  const slugs = p.jobs
    .list()
    .filter((j) => j.wantedSlug === 'twin')
    .map((j) => j.slug)
    .sort();
  expect(slugs).toEqual(['twin', 'twin-3']);
  expect(sim.apps.has('parachute-twin')).toBe(true);
  expect(sim.apps.has('parachute-twin-3')).toBe(true);
  // Stripe's ids are kept for the teardown a cancelled subscription starts.
  const { body } = await status(p, 'twin');
  expect(String(body.stripe_subscription)).toStartWith('sub_');
});

test('a cancelled subscription (delivered twice) starts one teardown, which destroys nothing while the hub cannot be exported', async () => {
  const p = start({ PROVISIONER_STEP_ATTEMPTS: '2', PROVISIONER_RETRY_BASE_MS: '100' });
  const email = 'barbara@example.test';
  const subscription = `sub_${crypto.randomUUID().slice(0, 14)}`;
  const paid = checkoutEvent({ email, slug: 'barbara', subscription });
  await postWebhook(p.url, paid, await sign(paid));
  await smtp.waitFor(email);
  await until('the job to be done', () =>
    p.jobs.bySlug('barbara')?.state === 'done' ? true : undefined,
  );

  // A forged cancellation is refused like any unsigned event.
  const forged = subscriptionDeletedEvent(subscription);
  expect(
    (await postWebhook(p.url, forged, await sign(forged, { secret: 'whsec_forged' }))).status,
  ).toBe(400);
  expect(p.jobs.bySlug('barbara')?.state).toBe('done');

  const cancel = subscriptionDeletedEvent(subscription);
  const header = await sign(cancel);
  const outcomes = [];
  for (let i = 0; i < 2; i++) {
    const res = await postWebhook(p.url, cancel, header);
    expect(res.status).toBe(200);
    outcomes.push(((await res.json()) as { outcome: string }).outcome);
  }
  expect(outcomes).toEqual(['cancelled', 'duplicate_event']);
  const { body } = await until('the teardown to stop at its export', async () => {
    const s = await status(p, 'barbara');
    return s.body.state === 'failed' ? s : undefined;
  });
  expect(body.cancelled_at).toBeString();
  expect(body.steps.filter((s) => s.step === 'export_hub')).toEqual([
    expect.objectContaining({ state: 'failed', attempts: 2 }),
  ]);
  expect(sim.apps.has('parachute-barbara')).toBe(true);
  expect(dns.records().some((r) => r.name === `barbara.${DOMAIN}`)).toBe(true);
  expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
});
