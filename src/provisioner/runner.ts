// Runs provisioning jobs step by step from what provisioner.db says: the
// next step not `done` is marked running (its attempt counted), run, then
// recorded done with its results, or failed with a retry time. A restarted
// provisioner calls resumeAll() and each job carries on from its first
// unfinished step; a step past its attempt budget fails the job and mails
// the admin. Failed jobs keep what they made (listed for the sweeper).
import { PermanentStepError } from './hub-fly.ts';
import { failedJobMail } from './mailer.ts';
import { leftovers, runStep, type StepDeps } from './steps.ts';

export interface RunnerOptions extends StepDeps {
  log: (line: string) => void;
  /** Strings that must never reach the db, the log or a mail (tokens, secrets). */
  secrets: string[];
}

export class JobRunner {
  private readonly active = new Map<number, Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;
  /** Steps in flight, and jobs waiting for a slot: a burst of payments queues here, not at Fly's rate limits. */
  private inFlight = 0;
  private readonly slotWaiters: { jobId: number; go: () => void }[] = [];

  constructor(private readonly o: RunnerOptions) {}

  /** Carries on with every job that was running when the provisioner last stopped. */
  resumeAll(): void {
    for (const id of this.o.jobs.unfinished()) this.kick(id);
  }

  /** Starts (or leaves running) the job's loop. */
  kick(id: number): void {
    if (this.stopped || this.active.has(id)) return;
    const run = this.run(id)
      .catch((error) => {
        if (!this.stopped) this.o.log(`job ${id}: runner error: ${this.scrub(message(error), [])}`);
      })
      .finally(() => this.active.delete(id));
    this.active.set(id, run);
  }

  /** Resolves when no job is running (tests, and a clean shutdown). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }

  /** No new steps start; a step in flight is abandoned and re-run on the next start. */
  stop(): void {
    this.stopped = true;
    for (const wake of this.sleepers) wake();
    for (const waiter of this.slotWaiters.splice(0)) waiter.go();
  }

  private async run(id: number): Promise<void> {
    const { jobs, config } = this.o;
    while (!this.stopped) {
      const job = jobs.get(id);
      if (job?.state !== 'running') return;
      const next = jobs.steps(id).find((s) => s.state !== 'done');
      if (!next) {
        jobs.finish(id);
        this.o.log(`job ${id} (${job.slug}): done`);
        return;
      }
      if (next.nextAttemptAt !== null && next.nextAttemptAt > Date.now()) {
        await this.sleep(next.nextAttemptAt - Date.now());
        continue;
      }
      // Waiting for a machine to boot, or for its certificate, only polls: it takes no slot.
      const slot = next.step !== 'wait_health' && next.step !== 'certificate_ready';
      if (slot) await this.acquire(id);
      let failedJob = false;
      try {
        if (this.stopped) return;
        jobs.stepStarting(id, next.step);
        const attempt = next.attempts + 1;
        this.o.log(`job ${id} (${job.slug ?? 'no slug yet'}): ${next.step} (try ${attempt})`);
        try {
          const result = await runStep[next.step](this.o, job);
          if (this.stopped) return;
          jobs.stepDone(id, next.step, result.patch, result.slug);
        } catch (error) {
          if (this.stopped) return;
          const text = this.scrub(message(error), job.setupToken ? [job.setupToken] : []);
          const outOfBudget =
            error instanceof PermanentStepError || attempt >= config.retry.attempts;
          const retryAt = outOfBudget ? null : Date.now() + backoff(attempt, config.retry);
          jobs.stepFailed(id, next.step, text, retryAt);
          this.o.log(
            `job ${id}: ${next.step} failed: ${text}${retryAt ? ` (retry in ${Math.round((retryAt - Date.now()) / 1000)} s)` : ' (job failed)'}`,
          );
          failedJob = retryAt === null;
        }
      } finally {
        if (slot) this.release();
      }
      if (failedJob) {
        await this.alert(id);
        return;
      }
    }
  }

  private async acquire(jobId: number): Promise<void> {
    if (this.inFlight < this.o.config.concurrency) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((go) => this.slotWaiters.push({ jobId, go }));
  }

  /**
   * Hands the slot straight to the oldest job waiting, or frees it. Oldest
   * first, so under a burst the first payments finish first instead of all
   * jobs creeping forward together.
   */
  private release(): void {
    if (this.slotWaiters.length === 0) {
      this.inFlight--;
      return;
    }
    let oldest = 0;
    this.slotWaiters.forEach((w, i) => {
      if (w.jobId < (this.slotWaiters[oldest]?.jobId ?? Infinity)) oldest = i;
    });
    this.slotWaiters.splice(oldest, 1)[0]?.go();
  }

  private async alert(id: number): Promise<void> {
    const job = this.o.jobs.get(id);
    if (!job) return;
    try {
      await this.o.mailer.send(failedJobMail(this.o.config.mail.adminEmail, job, leftovers(job)));
    } catch (error) {
      this.o.log(
        `job ${id}: the admin alert could not be mailed: ${this.scrub(message(error), [])}`,
      );
    }
  }

  private scrub(text: string, extra: string[]): string {
    let out = text;
    for (const s of [...this.o.secrets, ...extra]) out = out.split(s).join('[redacted]');
    return out.slice(0, 500);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

/** Doubling from `baseMs`, capped, with ±20 % jitter so many failed jobs do not retry in step. */
export function backoff(attempt: number, retry: { baseMs: number; maxMs: number }): number {
  const raw = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
