// Shared pieces of the provisioner tests: Stripe events signed by Stripe's
// own library, and the environment pointing the provisioner at the fakes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { loadConfig, type ProvisionerConfig } from '../../src/provisioner/config.ts';
import { liveDeps } from '../../src/provisioner/live-deps.ts';
import { startProvisioner } from '../../src/provisioner/server.ts';
import { VERSION } from '../../src/version.ts';
import { isolatedBinary } from './binary.ts';
import { type FakeDns, startFakeDns } from './fake-dns.ts';
import { type FakeFlyOptions, startFakeFly } from './fake-fly.ts';
import type { FlySim } from './fly-sim.ts';
import { assetForThisMachine, ReleaseServer } from './release-server.ts';
import { type SmtpSink, startSmtpSink } from './smtp-sink.ts';

export const WEBHOOK_SECRET = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('hex')}`;
export const ADMIN_TOKEN = `admin-${crypto.randomUUID()}-${crypto.randomUUID()}`;
export const DOMAIN = 'hubs.example.test';

/** A checkout.session.completed event as Stripe sends it (the fields the provisioner reads, and more). */
export function checkoutEvent(options: {
  eventId?: string;
  sessionId?: string;
  email: string;
  slug?: string;
  type?: string;
  paymentStatus?: string;
  subscription?: string;
}): string {
  const created = Math.floor(Date.now() / 1000);
  return JSON.stringify(
    {
      id: options.eventId ?? `evt_${crypto.randomUUID().replaceAll('-', '')}`,
      object: 'event',
      api_version: '2025-09-30.clover',
      created,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: options.type ?? 'checkout.session.completed',
      data: {
        object: {
          id: options.sessionId ?? `cs_test_${crypto.randomUUID().replaceAll('-', '')}`,
          object: 'checkout.session',
          mode: 'subscription',
          status: 'complete',
          payment_status: options.paymentStatus ?? 'paid',
          amount_total: 500,
          currency: 'usd',
          customer: `cus_${crypto.randomUUID().slice(0, 14)}`,
          customer_details: { email: options.email, name: 'Test Customer' },
          metadata: options.slug ? { slug: options.slug } : {},
          subscription: options.subscription ?? `sub_${crypto.randomUUID().slice(0, 14)}`,
        },
      },
    },
    null,
    2,
  );
}

/** customer.subscription.deleted, as Stripe sends it when a subscription ends. */
export function subscriptionDeletedEvent(subscription: string, eventId?: string): string {
  return JSON.stringify({
    id: eventId ?? `evt_${crypto.randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'customer.subscription.deleted',
    data: {
      object: {
        id: subscription,
        object: 'subscription',
        status: 'canceled',
        canceled_at: Math.floor(Date.now() / 1000),
        customer: `cus_${crypto.randomUUID().slice(0, 14)}`,
      },
    },
  });
}

/** The Stripe-Signature header for `payload`, made by Stripe's library. */
export function sign(payload: string, options: { secret?: string; timestamp?: number } = {}) {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    timestamp: options.timestamp,
  });
}

export function postWebhook(url: string, payload: string, signature: string | null) {
  return fetch(`${url}/provision`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'stripe-signature': signature }),
    },
    body: payload,
  });
}

export function admin(url: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  return fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export function provisionerEnv(fakes: {
  sim: FlySim;
  dns: FakeDns;
  smtp: SmtpSink;
  home?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    PROVISIONER_HOME: fakes.home ?? mkdtempSync(join(tmpdir(), 'provisioner-')),
    PORT: '0',
    PROVISIONER_BIND_HOST: '127.0.0.1',
    FLY_API_TOKEN: fakes.sim.token,
    FLY_ORG: fakes.sim.org,
    FLY_API_HOSTNAME: fakes.sim.api,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    CLOUDFLARE_API_TOKEN: fakes.dns.token,
    CLOUDFLARE_ZONE_ID: fakes.dns.zoneId,
    CLOUDFLARE_API_BASE: fakes.dns.api,
    PROVISIONER_DOMAIN: DOMAIN,
    SMTP_URL: fakes.smtp.url,
    MAIL_FROM: 'hubs@example.test',
    PROVISIONER_ADMIN_EMAIL: 'ops@example.test',
    PROVISIONER_HUB_VERSION: '0.1.0',
    PROVISIONER_ADMIN_TOKEN: ADMIN_TOKEN,
    PROVISIONER_RETRY_BASE_MS: '100',
    PROVISIONER_HEALTH_TIMEOUT_S: '60',
    // Requests for https://NAME.fly.dev never leave loopback: the sim answers them 404.
    PARACHUTE_FLY_EDGE: fakes.sim.api,
    ...fakes.extra,
  };
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/**
 * The provisioner in this process as `parachute provisioner serve` builds it:
 * the real Fly client (against the Machines API in `config.fly.api`) and real
 * SMTP. `stop` ends both.
 */
export function provisionerOnFly(config: ProvisionerConfig) {
  const { fly, mailer } = liveDeps(config);
  const provisioner = startProvisioner(config, { fly, mailer, log: () => {} });
  return {
    provisioner,
    stop: async () => {
      await provisioner.stop();
      mailer.close();
    },
  };
}

/**
 * A provisioner (provisionerOnFly) on the fake Fly Machines API whose
 * machines run the real hub binary through its launcher, booted from
 * `image`; the release channel serves that binary; fake Cloudflare DNS and a
 * real SMTP sink. `stop` ends all of it (machines included).
 */
export async function realHubFleet(options: {
  image: string;
  fly?: Partial<FakeFlyOptions>;
  dns?: Parameters<typeof startFakeDns>[0];
  extra?: Record<string, string>;
}) {
  const stops: (() => unknown)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const { bin } = isolatedBinary();
    const release = new ReleaseServer(assetForThisMachine(), { binary: bin, version: VERSION });
    stops.push(() => release.stop());
    const fly = await startFakeFly({
      image: { [options.image]: bin },
      rateLimit: true,
      ...options.fly,
    });
    stops.push(() => fly.stop());
    const dns = startFakeDns(options.dns);
    stops.push(() => dns.stop());
    const smtp = await startSmtpSink();
    stops.push(() => smtp.stop());
    const sim = { token: fly.token, org: 'personal', api: fly.api } as FlySim;
    const env = provisionerEnv({
      sim,
      dns,
      smtp,
      extra: {
        PARACHUTE_FLY_IMAGE: options.image,
        PARACHUTE_RELEASE_URL: release.url,
        PROVISIONER_HUB_VERSION: VERSION,
        PARACHUTE_FLY_EDGE: fly.edge,
        ...options.extra,
      },
    });
    const started = provisionerOnFly(loadConfig(env));
    stops.push(started.stop);
    return { fly, release, dns, smtp, env, provisioner: started.provisioner, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
