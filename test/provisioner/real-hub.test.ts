// Issue 20, end to end with real parts: the provisioner drives the fake Fly
// Machines API (test/helpers/fake-fly.ts) at Fly's realistic latencies,
// whose machine runs the real hub binary through the fly-boot launcher;
// Cloudflare's API is faked with a realistic delay, mail goes through a real
// SMTP server. The token in the mail creates the hub's admin. The time from
// the signed payment event to the mail is the exit criterion (< 2 min).
import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkExport } from '../../src/backup/import.ts';
import type { Provisioner } from '../../src/provisioner/server.ts';
import { ADMIN } from '../helpers/api.ts';
import { isolatedBinary, runBinary } from '../helpers/binary.ts';
import type { FakeDns } from '../helpers/fake-dns.ts';
import type { FakeFly } from '../helpers/fake-fly.ts';
import { EdgeClient } from '../helpers/fly-edge.ts';
import {
  ADMIN_TOKEN,
  checkoutEvent,
  DOMAIN,
  postWebhook,
  realHubFleet,
  sign,
  subscriptionDeletedEvent,
  until,
} from '../helpers/provisioner.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

const IMAGE = 'registry.test/parachute-hub:provisioner';

let fly: FakeFly;
let dns: FakeDns;
let smtp: SmtpSink;
let provisioner: Provisioner;
let stopFleet: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({
    fly,
    dns,
    smtp,
    provisioner,
    stop: stopFleet,
  } = await realHubFleet({
    image: IMAGE,
    fly: { latencyMs: 'realistic' },
    dns: { latencyMs: 200 },
  }));
});

afterAll(async () => {
  await stopFleet?.();
});

test('a payment becomes a running hub whose mailed setup token creates its admin, within 2 minutes', async () => {
  const email = 'margaret@example.test';
  const payload = checkoutEvent({ email, slug: 'margaret' });
  const started = performance.now();
  const res = await postWebhook(provisioner.url, payload, await sign(payload));
  expect(res.status).toBe(200);
  const mail = await smtp.waitFor(email, 120_000);
  const seconds = (performance.now() - started) / 1000;
  console.log(`payment event in → setup mail out: ${seconds.toFixed(1)} s`);
  expect(seconds).toBeLessThan(120);

  expect(mail.text).toContain(`https://margaret.${DOMAIN}/admin/setup`);
  // The link opens over HTTPS when it arrives: Fly had issued the certificate
  // (the fake takes Fly's realistic few seconds after it is requested).
  const cert = await fetch(
    `${fly.api}/v1/apps/parachute-margaret/certificates/margaret.${DOMAIN}`,
    { headers: { authorization: fly.token } },
  );
  expect(((await cert.json()) as { configured: boolean }).configured).toBe(true);
  const token = /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0] as string;
  // The real hub behind Fly's edge takes the mailed token once, and only once.
  const hub = new EdgeClient(fly.edge, 'parachute-margaret');
  const health = await hub.get('/health');
  expect(health.status).toBe(200);
  const setup = await hub.post('/api/setup', { bootstrap_token: token, ...ADMIN });
  expect(setup.status).toBe(201);
  const again = await new EdgeClient(fly.edge, 'parachute-margaret').post('/api/setup', {
    bootstrap_token: token,
    ...ADMIN,
    username: 'second',
  });
  expect(again.status).toBeGreaterThanOrEqual(400);
  expect(fly.secrets('parachute-margaret').PARACHUTE_HUB_ORIGIN).toBe(`https://margaret.${DOMAIN}`);
}, 150_000);

test('a cancelled subscription exports the hub, mails the operator a working download link, then removes the app and its DNS name', async () => {
  const app = 'parachute-margaret';
  // The provider's export route takes only its own token, never a guess.
  const wrong = await new EdgeClient(fly.edge, app).get('/api/hub/provider-export', {
    authorization: 'Bearer parachute-export-guess',
  });
  expect(wrong.status).toBe(401);

  const job = provisioner.jobs.bySlug('margaret');
  const cancel = subscriptionDeletedEvent(job?.stripeSubscription as string);
  expect((await postWebhook(provisioner.url, cancel, await sign(cancel))).status).toBe(200);
  const mail = await smtp.waitFor('margaret@example.test', 60_000, /download your data/);
  const link = /http:\/\/127\.0\.0\.1:\d+\/exports\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0];
  expect(link).toBeDefined();
  await until(
    'the teardown to finish',
    () => (provisioner.jobs.bySlug('margaret')?.state === 'torn_down' ? true : undefined),
    60_000,
  );
  expect(fly.appNames()).not.toContain(app);
  expect(dns.records().some((r) => r.name === `margaret.${DOMAIN}`)).toBe(false);

  // The link gives the whole hub: an archive `parachute import` accepts, holding the admin made above.
  const res = await fetch(link as string);
  expect(res.status).toBe(200);
  const file = join(mkdtempSync(join(tmpdir(), 'provisioner-export-')), 'hub.tar.gz');
  await Bun.write(file, res);
  const manifest = await checkExport(file);
  expect(JSON.stringify(manifest)).toContain('hub.db');
  const home = mkdtempSync(join(tmpdir(), 'provisioner-import-'));
  const { bin } = isolatedBinary();
  const imported = await runBinary(bin, ['import', file], {
    env: { PARACHUTE_HOME: join(home, 'hub') },
  });
  expect(imported.code).toBe(0);
  const db = new Database(join(home, 'hub', 'hub.db'), { readonly: true });
  expect(db.query('SELECT username FROM users').all()).toEqual([{ username: ADMIN.username }]);
  db.close();
  // Another token is not a link.
  expect((await fetch(`${(link as string).slice(0, -43)}${'A'.repeat(43)}`)).status).toBe(404);
}, 120_000);

test('a hub never claimed is torn down without an export (it holds nothing) and its operator is told so', async () => {
  const email = 'unclaimed@example.test';
  const payload = checkoutEvent({ email, slug: 'unclaimed' });
  expect((await postWebhook(provisioner.url, payload, await sign(payload))).status).toBe(200);
  await smtp.waitFor(email, 60_000, /ready/);
  await until('the job to be done', () =>
    provisioner.jobs.bySlug('unclaimed')?.state === 'done' ? true : undefined,
  );
  const res = await fetch(`${provisioner.url}/teardown`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'unclaimed' }),
  });
  expect(res.status).toBe(202);
  const mail = await smtp.waitFor(email, 60_000, /closed/);
  expect(mail.text).toContain('never set up');
  await until(
    'the teardown to finish',
    () => (provisioner.jobs.bySlug('unclaimed')?.state === 'torn_down' ? true : undefined),
    60_000,
  );
  expect(provisioner.jobs.bySlug('unclaimed')?.data.exportSkipped).toBe('unclaimed');
  expect(fly.appNames()).not.toContain('parachute-unclaimed');
}, 120_000);
