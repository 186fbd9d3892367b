// POST /provision: Stripe's webhook. The signature is checked by Stripe's
// own library on the raw bytes before anything else is read or stored; only
// then is the event parsed, recorded (event id and checkout session, unique
// keys, one transaction) and its job started. Every Fly call costs money, so
// a request that is not from Stripe ends here with nothing done.
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Jobs } from './jobs.ts';
import { wantedSlug } from './slug.ts';

/** Events that mean "paid": the card kind completes paid, bank debits succeed later. */
const PAID_EVENTS = new Set([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
]);

const Session = z.looseObject({
  id: z.string().min(1),
  payment_status: z.string(),
  customer_email: z.string().nullish(),
  customer_details: z.looseObject({ email: z.string().nullish() }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  // Ids, or whole objects when the event was expanded.
  customer: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
  subscription: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
});

const idOf = (v: string | { id: string } | null | undefined) =>
  typeof v === 'string' ? v : (v?.id ?? null);

const Subscription = z.looseObject({ id: z.string().min(1) });

export type WebhookAnswer = { status: number; body: Record<string, unknown> };

/** The hub's own setup-token format: `parachute-bootstrap-` and 43 base64url characters. */
export function newSetupToken(): string {
  return `parachute-bootstrap-${randomBytes(32).toString('base64url')}`;
}

export async function handleStripeWebhook(
  raw: Uint8Array,
  signature: string | null,
  options: {
    secret: string;
    toleranceS: number;
    jobs: Jobs;
    started: (jobId: number) => void;
    /** A subscription ended (first delivery only): its hub is to be exported, then torn down. */
    cancelled: (jobId: number) => void;
  },
): Promise<WebhookAnswer> {
  if (!signature) {
    return {
      status: 400,
      body: { error: 'missing_signature', message: 'No Stripe-Signature header.' },
    };
  }
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(
      raw,
      signature,
      options.secret,
      options.toleranceS,
    );
  } catch {
    // Stripe's message may quote the header; the caller learns only that it was refused.
    return {
      status: 400,
      body: {
        error: 'invalid_signature',
        message: 'The Stripe signature does not match this endpoint, or it is too old.',
      },
    };
  }
  if (event.type === 'customer.subscription.deleted') {
    const sub = Subscription.safeParse(event.data.object);
    const first = options.jobs.recordEvent({ id: event.id, type: event.type });
    const job = sub.success ? options.jobs.bySubscription(sub.data.id) : null;
    if (first && job) options.cancelled(job.id);
    return {
      status: 200,
      body: {
        received: true,
        job: job?.id ?? null,
        outcome: first ? 'cancelled' : 'duplicate_event',
      },
    };
  }
  if (!PAID_EVENTS.has(event.type)) {
    options.jobs.recordEvent({ id: event.id, type: event.type });
    return { status: 200, body: { received: true, ignored: event.type } };
  }
  const session = Session.safeParse(event.data.object);
  if (!session.success) {
    return {
      status: 400,
      body: {
        error: 'unexpected_event',
        message: 'A checkout session without id or payment_status.',
      },
    };
  }
  const s = session.data;
  const email = s.customer_details?.email ?? s.customer_email ?? '';
  if (s.payment_status !== 'paid' && s.payment_status !== 'no_payment_required') {
    // Not paid yet (a delayed method): async_payment_succeeded will come for it.
    options.jobs.recordEvent({ id: event.id, type: event.type });
    return { status: 200, body: { received: true, ignored: `payment_status ${s.payment_status}` } };
  }
  if (!email.includes('@')) {
    options.jobs.recordEvent({ id: event.id, type: event.type });
    return {
      status: 200,
      body: { received: true, ignored: 'no customer email: collect it in the Checkout session' },
    };
  }
  const { outcome, jobId } = options.jobs.acceptCheckout(
    { id: event.id, type: event.type },
    {
      id: s.id,
      email,
      wantedSlug: wantedSlug(s.metadata?.slug, email),
      customer: idOf(s.customer),
      subscription: idOf(s.subscription),
    },
    { setup: newSetupToken(), export: `parachute-export-${randomBytes(32).toString('base64url')}` },
  );
  if (outcome === 'created' && jobId !== null) options.started(jobId);
  return { status: 200, body: { received: true, job: jobId, outcome } };
}
