// POST /teardown, this session's part: removing what a job made (its Fly app,
// which cascades to machine, volume, IPs and secrets, and its DNS record).
// A failed job never served anyone, so it is removed as asked: this is the
// sweeper for failed jobs. A live hub is only destroyed with `force`, because
// the export-first teardown (issue 20 point 4) is not built yet.
import type { CloudflareDns } from './cloudflare-dns.ts';
import type { HubFly } from './hub-fly.ts';
import type { Job, Jobs } from './jobs.ts';

export type TeardownAnswer = { status: number; body: Record<string, unknown> };

export async function teardown(
  job: Job,
  force: boolean,
  deps: { jobs: Jobs; fly: HubFly; dns: CloudflareDns },
): Promise<TeardownAnswer> {
  if (job.state === 'running') {
    return {
      status: 409,
      body: {
        error: 'job_running',
        message: `Job ${job.id} is still running. Wait until GET /status/${job.slug ?? '<slug>'} says done or failed.`,
      },
    };
  }
  if (job.state === 'done' && !force) {
    return {
      status: 409,
      body: {
        error: 'export_required',
        message:
          'This hub is live: a teardown must export it first, and export-first teardown is not built yet. Send {"force": true} only to destroy it WITHOUT an export (the operator loses their data).',
      },
    };
  }
  const removed: string[] = [];
  if (job.data.app && job.state !== 'torn_down') {
    if (await deps.fly.destroyApp(job.data.app)) removed.push(`Fly app ${job.data.app}`);
  }
  if (job.data.dnsRecordId && job.state !== 'torn_down') {
    await deps.dns.deleteRecord(job.data.dnsRecordId);
    removed.push(`DNS record ${job.data.hostname}`);
  }
  deps.jobs.markTornDown(job.id);
  return { status: 200, body: { torn_down: job.slug ?? job.id, removed } };
}
