// What each provisioning step does. A step may run again after a crash
// between doing it and recording it, so each one is idempotent: it looks up
// what exists before creating anything.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { CloudflareDns } from './cloudflare-dns.ts';
import type { ProvisionerConfig } from './config.ts';
import { downloadHubExport } from './hub-export.ts';
import { type HubFly, PermanentStepError } from './hub-fly.ts';
import { EXPORT_TTL_MS, type Job, type JobData, type Jobs, type StepName } from './jobs.ts';
import { exportLinkMail, type Mailer, setupLinkMail } from './mailer.ts';
import { slugCandidates } from './slug.ts';

export interface StepDeps {
  config: ProvisionerConfig;
  jobs: Jobs;
  fly: HubFly;
  dns: CloudflareDns;
  mailer: Mailer;
  /** Where the provisioner is reached from outside (export links). */
  publicUrl: () => string;
}

export interface StepResult {
  patch: JobData;
  /** pick_slug only: the slug, stored in its own unique column. */
  slug?: string;
}

const SLUG_TRIES = 20;

export function appName(config: ProvisionerConfig, slug: string): string {
  return `${config.fly.appPrefix}${slug}`;
}

export function hubOrigin(config: ProvisionerConfig, slug: string): string {
  return `https://${slug}.${config.dns.domain}`;
}

/** The resources a job made that cost money or hold a name, for the alert and the sweeper. */
export function leftovers(job: Job): string[] {
  const out: string[] = [];
  if (job.state === 'torn_down') return out;
  if (job.data.app)
    out.push(
      `Fly app ${job.data.app}${job.data.volumeId ? ` (volume ${job.data.volumeId}` : ''}${job.data.machineId ? `, machine ${job.data.machineId}` : ''}${job.data.volumeId ? ')' : ''}`,
    );
  if (job.data.dnsRecordId) out.push(`DNS record ${job.data.dnsRecordId} (${job.data.hostname})`);
  return out;
}

function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`${what} is missing from the job`);
  return value;
}

export const runStep: Record<StepName, (deps: StepDeps, job: Job) => Promise<StepResult>> = {
  async pick_slug({ config, jobs, fly, dns }, job) {
    let tries = 0;
    for (const slug of slugCandidates(job.wantedSlug)) {
      if (++tries > SLUG_TRIES) break;
      if (jobs.slugInUse(slug)) continue;
      const app = appName(config, slug);
      if ((await fly.appAvailability(app)) !== 'free') continue;
      const hostname = `${slug}.${config.dns.domain}`;
      if ((await dns.recordsNamed(hostname)).length > 0) continue;
      // Recording the app name now: from here on a crash resumes with this slug.
      return { slug, patch: { app, hostname } };
    }
    throw new PermanentStepError(`no free slug found from "${job.wantedSlug}"`);
  },

  async fly_app({ fly }, job) {
    // Recorded before the call: a crash mid-create leaves an app the sweeper can find by name.
    await fly.ensureApp(need(job.data.app, 'app'));
    return { patch: {} };
  },

  async fly_ips({ fly }, job) {
    await fly.ensureIps(need(job.data.app, 'app'));
    return { patch: {} };
  },

  async fly_volume({ config, fly }, job) {
    const volume = await fly.ensureVolume(
      need(job.data.app, 'app'),
      config.fly.region,
      config.volumeSizeGb,
    );
    return { patch: { volumeId: volume.id, region: volume.region } };
  },

  async fly_secrets({ config, fly }, job) {
    const version = await fly.setSecrets(need(job.data.app, 'app'), {
      PARACHUTE_HUB_ORIGIN: hubOrigin(config, need(job.slug, 'slug')),
      PARACHUTE_SETUP_TOKEN: need(job.setupToken, 'setup token'),
      // How a teardown exports the hub before destroying it (the hub withholds it from modules).
      PARACHUTE_EXPORT_TOKEN: job.exportToken,
    });
    return { patch: { secretsVersion: version } };
  },

  async fly_machine({ config, fly }, job) {
    const machine = await fly.ensureMachine(need(job.data.app, 'app'), {
      volumeId: need(job.data.volumeId, 'volume id'),
      region: need(job.data.region, 'region'),
      version: config.hubVersion,
      secretsVersion: job.data.secretsVersion ?? null,
    });
    return { patch: { machineId: machine.id } };
  },

  async wait_health({ config, fly }, job) {
    await fly.waitHealthy(
      need(job.data.app, 'app'),
      need(job.data.machineId, 'machine id'),
      config.healthTimeoutS,
    );
    return { patch: {} };
  },

  async dns_cname({ dns }, job) {
    const app = need(job.data.app, 'app');
    const id = await dns.ensureCname(need(job.data.hostname, 'hostname'), `${app}.fly.dev`);
    return { patch: { dnsRecordId: id } };
  },

  async fly_certificate({ fly }, job) {
    const hostname = need(job.data.hostname, 'hostname');
    await fly.ensureCertificate(need(job.data.app, 'app'), hostname);
    return { patch: { certificate: hostname } };
  },

  // The link mailed next must open over HTTPS: wait until Fly has the
  // certificate (Let's Encrypt validates once the CNAME resolves). Polling
  // only, so it takes no slot (runner.ts); past the limit the step fails and
  // is retried with backoff like any other.
  async certificate_ready({ config, fly }, job) {
    const app = need(job.data.app, 'app');
    const hostname = need(job.data.hostname, 'hostname');
    const deadline = Date.now() + config.certificateTimeoutS * 1000;
    while (!(await fly.certificateConfigured(app, hostname))) {
      if (Date.now() > deadline) {
        throw new Error(
          `Fly has not issued the certificate for ${hostname} after ${config.certificateTimeoutS} s: check that its CNAME points at ${app}.fly.dev`,
        );
      }
      await Bun.sleep(2000);
    }
    return { patch: { certificateReadyAt: Date.now() } };
  },

  async email_setup_link({ config, mailer }, job) {
    // At least once: a crash after the SMTP server took the mail and before
    // this step is recorded sends it again on restart (better than none).
    await mailer.send(
      setupLinkMail(
        job.customerEmail,
        hubOrigin(config, need(job.slug, 'slug')),
        need(job.setupToken, 'setup token'),
      ),
    );
    return { patch: { mailedAt: Date.now() } };
  },

  // ---- teardown (appended to a live hub's job): export first, then destroy ----

  async export_hub({ config }, job) {
    const dest = join(config.home, 'exports', `${job.slug ?? job.id}-${Date.now()}.tar.gz`);
    const outcome = await downloadHubExport(
      need(job.data.app, 'app'),
      job.exportToken,
      dest,
      config.fly.edge,
    );
    if (outcome.kind === 'unclaimed') return { patch: { exportSkipped: 'unclaimed' } };
    return { patch: { exportFile: dest, exportBytes: outcome.bytes } };
  },

  async email_export_link({ jobs, mailer, publicUrl }, job) {
    const origin = job.slug ? `${job.data.hostname ?? job.slug}` : String(job.id);
    if (job.data.exportSkipped) {
      await mailer.send(exportLinkMail(job.customerEmail, origin, null, 0));
      return { patch: { exportMailedAt: Date.now() } };
    }
    // The link's token is stored (hashed) before the mail goes: a link mailed always works.
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + EXPORT_TTL_MS;
    jobs.addExport({
      tokenHash: createHash('sha256').update(token).digest('hex'),
      jobId: job.id,
      file: need(job.data.exportFile, 'export file'),
      bytes: job.data.exportBytes ?? 0,
      expiresAt,
    });
    await mailer.send(
      exportLinkMail(job.customerEmail, origin, `${publicUrl()}/exports/${token}`, expiresAt),
    );
    return { patch: { exportMailedAt: Date.now() } };
  },

  async destroy_app({ fly }, job) {
    if (!job.data.exportFile && !job.data.exportSkipped) {
      throw new PermanentStepError('refusing to destroy a hub whose export is not recorded');
    }
    await fly.destroyApp(need(job.data.app, 'app'));
    return { patch: {} };
  },

  async delete_dns({ dns }, job) {
    if (job.data.dnsRecordId) await dns.deleteRecord(job.data.dnsRecordId);
    return { patch: {} };
  },
};
