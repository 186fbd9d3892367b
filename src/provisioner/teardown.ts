// POST /teardown. A live hub is exported first: its job gets the teardown
// steps (export, mail the operator a 30-day link, destroy the app, delete the
// DNS record) and runs again, durably, like provisioning. Without a verified
// export nothing is destroyed unless the admin sends `force`. A job that
// failed while provisioning never served anyone: it is removed at once (the
// sweeper for failed jobs).
import type { CloudflareDns } from './cloudflare-dns.ts';
import type { HubFly } from './hub-fly.ts';
import type { Job, Jobs } from './jobs.ts';

export type TeardownAnswer = { status: number; body: Record<string, unknown> };

export async function teardown(
  job: Job,
  force: boolean,
  deps: { jobs: Jobs; fly: HubFly; dns: CloudflareDns; kick: (jobId: number) => void },
): Promise<TeardownAnswer> {
  const tearingDown = deps.jobs.steps(job.id).some((s) => s.step === 'export_hub');
  if (job.state === 'torn_down') return { status: 200, body: { torn_down: job.slug, removed: [] } };
  if (job.state === 'running') {
    return {
      status: 409,
      body: {
        error: tearingDown ? 'teardown_running' : 'job_running',
        message: `Job ${job.id} is running. Wait until GET /status/${job.slug ?? '<slug>'} says done or failed.`,
      },
    };
  }
  if (job.state === 'done' && !force) {
    deps.jobs.startTeardown(job.id);
    deps.kick(job.id);
    return {
      status: 202,
      body: {
        teardown: 'started',
        message: `Exporting the hub, mailing ${job.customerEmail} a download link, then removing it: follow GET /status/${job.slug}.`,
      },
    };
  }
  if (job.state === 'failed' && tearingDown && !force) {
    return {
      status: 409,
      body: {
        error: 'export_failed',
        message:
          'This teardown stopped before the hub was removed (see its steps). POST /retry to try again, or send {"force": true} to destroy it WITHOUT an export (the operator loses their data).',
      },
    };
  }
  const removed: string[] = [];
  if (job.data.app && (await deps.fly.destroyApp(job.data.app))) {
    removed.push(`Fly app ${job.data.app}`);
  }
  if (job.data.dnsRecordId) {
    await deps.dns.deleteRecord(job.data.dnsRecordId);
    removed.push(`DNS record ${job.data.hostname}`);
  }
  deps.jobs.markTornDown(job.id);
  return { status: 200, body: { torn_down: job.slug ?? job.id, removed } };
}
