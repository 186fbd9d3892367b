// The provisioner's HTTP service. Routes:
//   POST /provision      Stripe webhook (signature-checked, see webhook.ts)
//   GET  /status/:slug   a job and its steps                 (admin bearer)
//   GET  /jobs[?state=]  every job, oldest first              (admin bearer)
//   POST /retry          {slug | job}: a failed job again     (admin bearer)
//   POST /teardown       {slug | job, force?}: export first   (admin bearer)
//   GET  /exports/:token the export mailed at teardown        (the token)
//   GET  /health         liveness for Fly's check
import type { Database } from 'bun:sqlite';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { bearerIs } from '../auth/guard.ts';
import { CloudflareDns } from './cloudflare-dns.ts';
import { type ProvisionerConfig, secretsOf } from './config.ts';
import type { HubFly } from './hub-fly.ts';
import { type Job, Jobs } from './jobs.ts';
import { type Mailer, subscriptionEndedMail } from './mailer.ts';
import { JobRunner } from './runner.ts';
import { hubOrigin, leftovers } from './steps.ts';
import { openProvisionerDb } from './store.ts';
import { teardown } from './teardown.ts';
import { handleStripeWebhook } from './webhook.ts';

/** Stripe events are a few KB; nothing legitimate comes near this. */
const MAX_BODY = 512 * 1024;

export interface Provisioner {
  url: string;
  port: number;
  jobs: Jobs;
  runner: JobRunner;
  stop(): Promise<void>;
}

export interface ProvisionerDeps {
  fly: HubFly;
  mailer: Mailer;
  log?: (line: string) => void;
}

export function startProvisioner(config: ProvisionerConfig, deps: ProvisionerDeps): Provisioner {
  const log = deps.log ?? ((line: string) => process.stdout.write(`[provisioner] ${line}\n`));
  const db: Database = openProvisionerDb(config.home);
  const jobs = new Jobs(db);
  const dns = new CloudflareDns(config.dns);
  const runner = new JobRunner({
    config,
    jobs,
    fly: deps.fly,
    dns,
    mailer: deps.mailer,
    log,
    secrets: secretsOf(config),
    publicUrl: () => config.publicUrl ?? localUrl(),
  });

  const json = (status: number, body: unknown) => Response.json(body, { status });
  const isAdmin = (req: Request) => bearerIs(req, config.adminToken);
  const unauthorized = () =>
    json(401, {
      error: 'unauthorized',
      message: 'Send Authorization: Bearer <PROVISIONER_ADMIN_TOKEN>.',
    });
  const admin =
    (
      handler: (req: Request & { params: Record<string, string> }) => Promise<Response> | Response,
    ) =>
    (req: Request & { params: Record<string, string> }) =>
      isAdmin(req) ? handler(req) : unauthorized();

  const Target = z.object({
    slug: z.string().min(1).optional(),
    job: z.number().int().positive().optional(),
    force: z.boolean().optional(),
  });
  const findTarget = async (req: Request): Promise<{ job: Job; force: boolean } | Response> => {
    let parsed: z.infer<typeof Target>;
    try {
      parsed = Target.parse(await req.json());
    } catch {
      return json(400, {
        error: 'invalid_body',
        message:
          'Send JSON {"slug": "…"} or {"job": 12} (and for teardown optionally "force": true).',
      });
    }
    const job =
      parsed.slug !== undefined
        ? jobs.bySlug(parsed.slug)
        : parsed.job !== undefined
          ? jobs.get(parsed.job)
          : null;
    if (!job) return json(404, { error: 'not_found', message: 'No job with that slug or id.' });
    return { job, force: parsed.force === true };
  };

  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: MAX_BODY,
    routes: {
      '/health': { GET: () => json(200, { ok: true }) },
      // The link mailed at teardown: the token is the credential (256 bits, stored hashed).
      '/exports/:token': {
        GET: (req) => {
          const hash = createHash('sha256').update(req.params.token).digest('hex');
          const found = jobs.exportByHash(hash);
          if (!found || !existsSync(found.file)) {
            return json(404, { error: 'not_found', message: 'No export at this link.' });
          }
          if (found.expiresAt <= Date.now()) {
            return json(410, {
              error: 'expired',
              message: 'This download link has expired (links work for 30 days).',
            });
          }
          return new Response(Bun.file(found.file), {
            headers: {
              'content-type': 'application/gzip',
              'content-disposition': 'attachment; filename="parachute-export.tar.gz"',
              'cache-control': 'no-store',
            },
          });
        },
      },
      '/provision': {
        POST: async (req) => {
          const raw = new Uint8Array(await req.arrayBuffer());
          const answer = await handleStripeWebhook(raw, req.headers.get('stripe-signature'), {
            secret: config.stripe.webhookSecret,
            toleranceS: config.stripe.toleranceS,
            jobs,
            started: (id) => {
              log(`job ${id}: accepted from Stripe`);
              runner.kick(id);
            },
            cancelled: (id) => {
              jobs.patchData(id, { cancelledAt: Date.now() });
              if (jobs.startTeardown(id)) {
                log(`job ${id}: subscription ended; teardown started (export first)`);
                runner.kick(id);
                return;
              }
              // Still provisioning, or failed: a person decides.
              const job = jobs.get(id);
              log(
                `job ${id}: subscription ended while the job is ${job?.state}; the admin is told`,
              );
              if (job) {
                deps.mailer
                  .send(subscriptionEndedMail(config.mail.adminEmail, job))
                  .catch((error: Error) =>
                    log(`job ${id}: the cancellation mail failed: ${error.message}`),
                  );
              }
            },
          });
          return json(answer.status, answer.body);
        },
      },
      '/status/:slug': {
        GET: admin((req) => {
          const job = jobs.bySlug(req.params.slug ?? '');
          if (!job) return json(404, { error: 'not_found', message: 'No hub with that slug.' });
          return json(200, describe(job));
        }),
      },
      '/jobs': {
        GET: admin((req) => {
          // ?state=failed is the sweeper's list.
          const state = new URL(req.url).searchParams.get('state');
          const all = jobs.list().filter((j) => !state || j.state === state);
          return json(200, { jobs: all.map(summary) });
        }),
      },
      '/retry': {
        POST: admin(async (req) => {
          const target = await findTarget(req);
          if (target instanceof Response) return target;
          const { job } = target;
          if (job.state !== 'failed') {
            return json(409, {
              error: 'not_failed',
              message: `Job ${job.id} is ${job.state}; only a failed job is retried.`,
            });
          }
          jobs.retry(job.id);
          runner.kick(job.id);
          return json(202, { retrying: job.id });
        }),
      },
      '/teardown': {
        POST: admin(async (req) => {
          const target = await findTarget(req);
          if (target instanceof Response) return target;
          const { job, force } = target;
          const answer = await teardown(job, force, {
            jobs,
            fly: deps.fly,
            dns,
            kick: (id) => runner.kick(id),
          });
          if (answer.status === 202) log(`job ${job.id}: teardown started (export first)`);
          if (answer.status === 200)
            log(`job ${job.id}: torn down (${JSON.stringify(answer.body.removed)})`);
          return json(answer.status, answer.body);
        }),
      },
    },
    fetch: () => json(404, { error: 'not_found', message: 'No such endpoint.' }),
    error: (error) => {
      log(`request error: ${error.message}`);
      return json(500, { error: 'internal', message: 'The provisioner failed on this request.' });
    },
  });

  function describe(job: Job) {
    return {
      ...summary(job),
      checkout_session: job.checkoutSession,
      stripe_customer: job.stripeCustomer,
      stripe_subscription: job.stripeSubscription,
      resources: leftovers(job),
      steps: jobs.steps(job.id).map((s) => ({
        step: s.step,
        state: s.state,
        attempts: s.attempts,
        last_error: s.lastError,
        next_attempt_at: s.nextAttemptAt ? new Date(s.nextAttemptAt).toISOString() : null,
        started_at: s.startedAt ? new Date(s.startedAt).toISOString() : null,
        finished_at: s.finishedAt ? new Date(s.finishedAt).toISOString() : null,
      })),
    };
  }

  function summary(job: Job) {
    return {
      job: job.id,
      slug: job.slug,
      state: job.state,
      email: job.customerEmail,
      app: job.data.app ?? null,
      origin: job.slug ? hubOrigin(config, job.slug) : null,
      error: job.error,
      cancelled_at: job.data.cancelledAt ? new Date(job.data.cancelledAt).toISOString() : null,
      created_at: new Date(job.createdAt).toISOString(),
      updated_at: new Date(job.updatedAt).toISOString(),
    };
  }

  /** Export files past their link's 30 days are deleted (at start, then hourly). */
  function purgeExpiredExports() {
    for (const e of jobs.expiredExports()) {
      rmSync(e.file, { force: true });
      jobs.forgetExport(e.tokenHash);
    }
  }
  function localUrl() {
    return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`;
  }

  purgeExpiredExports();
  const purge = setInterval(purgeExpiredExports, 3600_000);
  purge.unref();
  runner.resumeAll();
  const port = server.port ?? config.port;
  return {
    url: localUrl(),
    port,
    jobs,
    runner,
    async stop() {
      clearInterval(purge);
      runner.stop();
      await server.stop(true);
      await Promise.race([runner.idle(), new Promise((r) => setTimeout(r, 2000))]);
      db.close();
    },
  };
}
