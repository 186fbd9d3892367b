// Issue 20, end to end with real parts: the provisioner drives the fake Fly
// Machines API (test/helpers/fake-fly.ts) at Fly's realistic latencies,
// whose machine runs the real hub binary through the fly-boot launcher;
// Cloudflare's API is faked with a realistic delay, mail goes through a real
// SMTP server. The token in the mail creates the hub's admin. The time from
// the signed payment event to the mail is the exit criterion (< 2 min).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { loadConfig } from '../../src/provisioner/config.ts';
import { FlyMachinesHubFly } from '../../src/provisioner/hub-fly.ts';
import { SmtpMailer } from '../../src/provisioner/mailer.ts';
import { type Provisioner, startProvisioner } from '../../src/provisioner/server.ts';
import { VERSION } from '../../src/version.ts';
import { ADMIN } from '../helpers/api.ts';
import { isolatedBinary } from '../helpers/binary.ts';
import { type FakeDns, startFakeDns } from '../helpers/fake-dns.ts';
import { type FakeFly, startFakeFly } from '../helpers/fake-fly.ts';
import { EdgeClient } from '../helpers/fly-edge.ts';
import type { FlySim } from '../helpers/fly-sim.ts';
import {
  checkoutEvent,
  DOMAIN,
  postWebhook,
  provisionerEnv,
  sign,
} from '../helpers/provisioner.ts';
import { assetForThisMachine, ReleaseServer } from '../helpers/release-server.ts';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.ts';

const IMAGE = 'registry.test/parachute-hub:provisioner';

let fly: FakeFly;
let release: ReleaseServer;
let dns: FakeDns;
let smtp: SmtpSink;
let provisioner: Provisioner;
let mailer: SmtpMailer;

beforeAll(async () => {
  const { bin } = isolatedBinary();
  release = new ReleaseServer(assetForThisMachine(), { binary: bin, version: VERSION });
  fly = await startFakeFly({ image: { [IMAGE]: bin }, latencyMs: 'realistic', rateLimit: true });
  dns = startFakeDns({ latencyMs: 200 });
  smtp = await startSmtpSink();
  const sim = { token: fly.token, org: 'personal', api: fly.api } as FlySim;
  const config = loadConfig(
    provisionerEnv({
      sim,
      dns,
      smtp,
      extra: {
        PARACHUTE_FLY_IMAGE: IMAGE,
        PARACHUTE_RELEASE_URL: release.url,
        PROVISIONER_HUB_VERSION: VERSION,
      },
    }),
  );
  mailer = new SmtpMailer(config.mail.smtpUrl, config.mail.from);
  const hubFly = new FlyMachinesHubFly({
    token: config.fly.token,
    org: config.fly.org,
    api: config.fly.api,
    image: config.fly.image,
    releaseUrl: config.fly.releaseUrl,
  });
  provisioner = startProvisioner(config, { fly: hubFly, mailer, log: () => {} });
});

afterAll(async () => {
  await provisioner?.stop();
  mailer?.close();
  await fly?.stop();
  release?.stop();
  await dns?.stop();
  await smtp?.stop();
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
