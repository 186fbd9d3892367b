// The jobs and their steps in provisioner.db. Every state change is one
// transaction, so what a restarted provisioner reads is exactly what had
// happened: a step is `done` only once its result (ids) is stored with it.
import type { Database } from 'bun:sqlite';

/** The steps of a provisioning job, in order (issue 20 point 3). */
export const STEPS = [
  'pick_slug',
  'fly_app',
  'fly_ips',
  'fly_volume',
  'fly_secrets',
  'fly_machine',
  'wait_health',
  'dns_cname',
  'fly_certificate',
  'certificate_ready',
  'email_setup_link',
] as const;
/** The steps appended to a job when its hub is torn down: never a destroy before an export. */
export const TEARDOWN_STEPS = [
  'export_hub',
  'email_export_link',
  'destroy_app',
  'delete_dns',
] as const;
export type StepName = (typeof STEPS)[number] | (typeof TEARDOWN_STEPS)[number];

/** How long the export link mailed at teardown works. */
export const EXPORT_TTL_MS = 30 * 24 * 3600 * 1000;

/** What the steps made: enough to resume, to show, and to clean up. */
export interface JobData {
  app?: string;
  hostname?: string;
  volumeId?: string;
  region?: string;
  secretsVersion?: number | null;
  machineId?: string;
  dnsRecordId?: string;
  certificate?: string;
  /** When Fly said the certificate is issued (ms). */
  certificateReadyAt?: number;
  mailedAt?: number;
  /** When Stripe said the subscription ended (the hub waits for its export-first teardown). */
  cancelledAt?: number;
  /** The export made before the teardown (a file under PROVISIONER_HOME/exports). */
  exportFile?: string;
  exportBytes?: number;
  /** A hub never claimed has nothing to export. */
  exportSkipped?: 'unclaimed';
  exportMailedAt?: number;
  /** The version the last rollout left it on. */
  hubVersion?: string;
}

export type JobState = 'running' | 'done' | 'failed' | 'torn_down';

export interface Job {
  id: number;
  checkoutSession: string;
  customerEmail: string;
  stripeCustomer: string | null;
  stripeSubscription: string | null;
  wantedSlug: string;
  slug: string | null;
  state: JobState;
  data: JobData;
  setupToken: string | null;
  exportToken: string;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface StepRow {
  step: StepName;
  state: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export type AcceptOutcome = 'created' | 'duplicate_event' | 'duplicate_session';

interface JobRow {
  id: number;
  checkout_session: string;
  customer_email: string;
  stripe_customer: string | null;
  stripe_subscription: string | null;
  wanted_slug: string;
  slug: string | null;
  state: JobState;
  data: string;
  setup_token: string | null;
  export_token: string;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    checkoutSession: r.checkout_session,
    customerEmail: r.customer_email,
    stripeCustomer: r.stripe_customer,
    stripeSubscription: r.stripe_subscription,
    wantedSlug: r.wanted_slug,
    slug: r.slug,
    state: r.state,
    data: JSON.parse(r.data) as JobData,
    setupToken: r.setup_token,
    exportToken: r.export_token,
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class Jobs {
  constructor(private readonly db: Database) {}

  /**
   * Records a Stripe event and, for a new checkout session, its job with all
   * its steps pending, in ONE transaction: a re-delivered event (same id) or
   * a second event for the same session finds its row and creates nothing.
   */
  acceptCheckout(
    event: { id: string; type: string },
    session: {
      id: string;
      email: string;
      wantedSlug: string;
      customer?: string | null;
      subscription?: string | null;
    },
    tokens: { setup: string; export: string },
  ): { outcome: AcceptOutcome; jobId: number | null } {
    return this.db.transaction(() => {
      const now = Date.now();
      const seen = this.db
        .query('SELECT job_id FROM stripe_events WHERE event_id = ?')
        .get(event.id) as { job_id: number | null } | null;
      if (seen) return { outcome: 'duplicate_event' as const, jobId: seen.job_id };
      const existing = this.db
        .query('SELECT id FROM jobs WHERE checkout_session = ?')
        .get(session.id) as { id: number } | null;
      let jobId: number;
      let outcome: AcceptOutcome;
      if (existing) {
        jobId = existing.id;
        outcome = 'duplicate_session';
      } else {
        const row = this.db
          .query(
            `INSERT INTO jobs (checkout_session, customer_email, stripe_customer, stripe_subscription,
               wanted_slug, state, setup_token, export_token, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?) RETURNING id`,
          )
          .get(
            session.id,
            session.email,
            session.customer ?? null,
            session.subscription ?? null,
            session.wantedSlug,
            tokens.setup,
            tokens.export,
            now,
            now,
          ) as {
          id: number;
        };
        jobId = row.id;
        outcome = 'created';
        const insertStep = this.db.prepare(
          `INSERT INTO job_steps (job_id, position, step, state) VALUES (?, ?, ?, 'pending')`,
        );
        STEPS.forEach((step, i) => {
          insertStep.run(jobId, i, step);
        });
      }
      this.db
        .query(
          'INSERT INTO stripe_events (event_id, type, job_id, received_at) VALUES (?, ?, ?, ?)',
        )
        .run(event.id, event.type, jobId, now);
      return { outcome, jobId };
    })();
  }

  /** Records an event that starts nothing; false when it had been seen before. */
  recordEvent(event: { id: string; type: string }): boolean {
    const res = this.db
      .query(
        'INSERT OR IGNORE INTO stripe_events (event_id, type, job_id, received_at) VALUES (?, ?, NULL, ?)',
      )
      .run(event.id, event.type, Date.now());
    return res.changes === 1;
  }

  get(id: number): Job | null {
    const r = this.db.query('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | null;
    return r ? toJob(r) : null;
  }

  bySlug(slug: string): Job | null {
    const r = this.db.query('SELECT * FROM jobs WHERE slug = ?').get(slug) as JobRow | null;
    return r ? toJob(r) : null;
  }

  bySubscription(subscription: string): Job | null {
    const r = this.db
      .query('SELECT * FROM jobs WHERE stripe_subscription = ? ORDER BY id DESC LIMIT 1')
      .get(subscription) as JobRow | null;
    return r ? toJob(r) : null;
  }

  /** Merges into the job's data outside any step (e.g. a cancellation). */
  patchData(jobId: number, patch: JobData): void {
    this.db.transaction(() => {
      const job = this.get(jobId);
      if (!job) return;
      this.db
        .query('UPDATE jobs SET data = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify({ ...job.data, ...patch }), Date.now(), jobId);
    })();
  }

  list(): Job[] {
    return (this.db.query('SELECT * FROM jobs ORDER BY id').all() as JobRow[]).map(toJob);
  }

  /** Jobs a restarted provisioner must carry on with. */
  unfinished(): number[] {
    return (
      this.db.query(`SELECT id FROM jobs WHERE state = 'running' ORDER BY id`).all() as {
        id: number;
      }[]
    ).map((r) => r.id);
  }

  slugInUse(slug: string): boolean {
    return this.db.query('SELECT 1 FROM jobs WHERE slug = ?').get(slug) !== null;
  }

  steps(jobId: number): StepRow[] {
    return (
      this.db
        .query(
          `SELECT step, state, attempts, last_error, next_attempt_at, started_at, finished_at
           FROM job_steps WHERE job_id = ? ORDER BY position`,
        )
        .all(jobId) as {
        step: StepName;
        state: StepRow['state'];
        attempts: number;
        last_error: string | null;
        next_attempt_at: number | null;
        started_at: number | null;
        finished_at: number | null;
      }[]
    ).map((r) => ({
      step: r.step,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      nextAttemptAt: r.next_attempt_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    }));
  }

  /** Before a try: the step is `running` and its attempt is counted (a crash mid-try still counts). */
  stepStarting(jobId: number, step: StepName): void {
    const now = Date.now();
    this.db
      .query(
        `UPDATE job_steps SET state = 'running', attempts = attempts + 1, next_attempt_at = NULL,
           started_at = COALESCE(started_at, ?) WHERE job_id = ? AND step = ?`,
      )
      .run(now, jobId, step);
    this.touch(jobId, now);
  }

  /** After a try that worked: its results merged into the job's data in the same transaction. */
  stepDone(jobId: number, step: StepName, patch: JobData, slug?: string): void {
    this.db.transaction(() => {
      const now = Date.now();
      const job = this.get(jobId);
      if (!job) throw new Error(`job ${jobId} vanished`);
      const data = { ...job.data, ...patch };
      this.db
        .query('UPDATE jobs SET data = ?, slug = COALESCE(?, slug), updated_at = ? WHERE id = ?')
        .run(JSON.stringify(data), slug ?? null, now, jobId);
      this.db
        .query(
          `UPDATE job_steps SET state = 'done', last_error = NULL, finished_at = ?
           WHERE job_id = ? AND step = ?`,
        )
        .run(now, jobId, step);
    })();
  }

  /** After a try that failed: `retryAt` null means out of budget, so the step (and job) failed. */
  stepFailed(jobId: number, step: StepName, error: string, retryAt: number | null): void {
    this.db.transaction(() => {
      const now = Date.now();
      this.db
        .query(
          `UPDATE job_steps SET state = ?, last_error = ?, next_attempt_at = ?, finished_at = ?
           WHERE job_id = ? AND step = ?`,
        )
        .run(
          retryAt === null ? 'failed' : 'pending',
          error,
          retryAt,
          retryAt === null ? now : null,
          jobId,
          step,
        );
      if (retryAt === null) {
        this.db
          .query(`UPDATE jobs SET state = 'failed', error = ?, updated_at = ? WHERE id = ?`)
          .run(`${step}: ${error}`, now, jobId);
      } else this.touch(jobId, now);
    })();
  }

  /** The last step done: the setup token is no longer kept; after a teardown's steps, torn down. */
  finish(jobId: number): void {
    const tornDown = this.db
      .query(`SELECT 1 FROM job_steps WHERE job_id = ? AND step = 'export_hub'`)
      .get(jobId);
    this.db
      .query(
        `UPDATE jobs SET state = ?, setup_token = NULL, error = NULL, updated_at = ? WHERE id = ?`,
      )
      .run(tornDown ? 'torn_down' : 'done', Date.now(), jobId);
  }

  /**
   * Appends the teardown steps to a live hub's job and runs it again; false
   * when the job is not a live hub or its teardown had already begun.
   */
  startTeardown(jobId: number): boolean {
    return this.db.transaction(() => {
      const job = this.get(jobId);
      if (job?.state !== 'done') return false;
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO job_steps (job_id, position, step, state) VALUES (?, ?, ?, 'pending')`,
      );
      let added = 0;
      TEARDOWN_STEPS.forEach((step, i) => {
        added += insert.run(jobId, 100 + i, step).changes;
      });
      if (added === 0) return false;
      this.db
        .query(`UPDATE jobs SET state = 'running', updated_at = ? WHERE id = ?`)
        .run(Date.now(), jobId);
      return true;
    })();
  }

  addExport(e: {
    tokenHash: string;
    jobId: number;
    file: string;
    bytes: number;
    expiresAt: number;
  }) {
    this.db
      .query(
        'INSERT INTO exports (token_hash, job_id, file, bytes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(e.tokenHash, e.jobId, e.file, e.bytes, e.expiresAt, Date.now());
  }

  exportByHash(tokenHash: string): { file: string; bytes: number; expiresAt: number } | null {
    const r = this.db
      .query('SELECT file, bytes, expires_at FROM exports WHERE token_hash = ?')
      .get(tokenHash) as { file: string; bytes: number; expires_at: number } | null;
    return r ? { file: r.file, bytes: r.bytes, expiresAt: r.expires_at } : null;
  }

  /** Export files past their link's life: deleted by the caller, then forgotten here. */
  expiredExports(now = Date.now()): { tokenHash: string; file: string }[] {
    return (
      this.db.query('SELECT token_hash, file FROM exports WHERE expires_at <= ?').all(now) as {
        token_hash: string;
        file: string;
      }[]
    ).map((r) => ({ tokenHash: r.token_hash, file: r.file }));
  }

  forgetExport(tokenHash: string): void {
    this.db.query('DELETE FROM exports WHERE token_hash = ?').run(tokenHash);
  }

  /** A failed job back to running: its failed step gets a fresh attempt budget. */
  retry(jobId: number): void {
    this.db.transaction(() => {
      const now = Date.now();
      this.db
        .query(
          `UPDATE job_steps SET state = 'pending', attempts = 0, next_attempt_at = NULL, finished_at = NULL
           WHERE job_id = ? AND state = 'failed'`,
        )
        .run(jobId);
      this.db
        .query(`UPDATE jobs SET state = 'running', error = NULL, updated_at = ? WHERE id = ?`)
        .run(now, jobId);
    })();
  }

  markTornDown(jobId: number): void {
    this.db
      .query(`UPDATE jobs SET state = 'torn_down', setup_token = NULL, updated_at = ? WHERE id = ?`)
      .run(Date.now(), jobId);
  }

  private touch(jobId: number, now: number): void {
    this.db.query('UPDATE jobs SET updated_at = ? WHERE id = ?').run(now, jobId);
  }
}
