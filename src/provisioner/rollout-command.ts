// `parachute provisioner rollout --to VERSION …`: run next to the service
// (same PROVISIONER_HOME and Fly token), it reads the live hubs from
// provisioner.db, rolls them and prints one line per app.

import { join, resolve } from 'node:path';
import { UsageError } from '../commands/command.ts';
import { parseFlags } from '../commands/flags.ts';
import { MachinesApi } from '../fly/machines-api.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { Jobs } from './jobs.ts';
import { flyUpgrade, type RolloutPlan, type RolloutResult, rollout } from './rollout.ts';
import { openProvisionerDb } from './store.ts';

const count = (name: string, raw: string | true | undefined, fallback: number, min: number) => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  }
  return n;
};

export async function runRollout(args: string[], env = process.env): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    to: 'value',
    canary: 'value',
    concurrency: 'value',
    'max-failures': 'value',
    json: 'switch',
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const to = typeof values.to === 'string' ? values.to.trim() : '';
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(to)) {
    throw new UsageError('--to VERSION is required: a release version like 0.4.0');
  }
  const plan: RolloutPlan = {
    to,
    canary: count('canary', values.canary, 1, 0),
    concurrency: count('concurrency', values.concurrency, 4, 1),
    maxFailures: count('max-failures', values['max-failures'], 0, 0),
  };
  const token = env.FLY_API_TOKEN?.trim();
  if (!token) {
    throw new OperatorError(
      'FLY_API_TOKEN is not set.',
      'Run the rollout with the provisioner’s environment (the same org token and PROVISIONER_HOME).',
    );
  }
  const home = resolve(
    env.PROVISIONER_HOME?.trim() || join(env.HOME || '/tmp', '.parachute-provisioner'),
  );
  const db = openProvisionerDb(home);
  try {
    const jobs = new Jobs(db);
    const live = jobs.list().filter((j) => j.state === 'done' && j.slug && j.data.app);
    const api = new MachinesApi({ token, base: env.FLY_API_HOSTNAME?.trim() || undefined });
    const upgrade = flyUpgrade(api, {
      edge: env.PARACHUTE_FLY_EDGE?.trim() || undefined,
      healthTimeoutS: count('health timeout', env.PROVISIONER_HEALTH_TIMEOUT_S, 300, 1),
    });
    const say = (line: string) => {
      if (!values.json) process.stdout.write(`${line}\n`);
    };
    say(
      `rolling ${live.length} hubs to ${plan.to}: ${plan.canary} canary first, then ${plan.concurrency} at a time, stopping past ${plan.maxFailures} failures`,
    );
    const results = await rollout(
      live.map((j) => ({ slug: j.slug as string, app: j.data.app as string })),
      plan,
      upgrade,
      (r) => {
        say(line(r));
        const job = jobs.bySlug(r.slug);
        if (job && (r.outcome === 'upgraded' || r.outcome === 'already')) {
          jobs.patchData(job.id, { hubVersion: plan.to });
        }
      },
    );
    const tally = (o: RolloutResult['outcome']) => results.filter((r) => r.outcome === o).length;
    const summary = {
      to: plan.to,
      upgraded: tally('upgraded'),
      already: tally('already'),
      failed: tally('failed'),
      skipped: tally('skipped'),
      requests: api.requests,
      rate_limited: api.rateLimited,
    };
    if (values.json) process.stdout.write(`${JSON.stringify({ ...summary, apps: results })}\n`);
    else {
      for (const r of results.filter((x) => x.outcome === 'skipped')) say(line(r));
      say(
        `done: ${summary.upgraded} upgraded, ${summary.already} already on ${plan.to}, ${summary.failed} failed, ${summary.skipped} not tried; ${summary.requests} Fly requests, ${summary.rate_limited} rate-limited`,
      );
    }
    return summary.failed > 0 || summary.skipped > 0 ? 1 : 0;
  } finally {
    db.close();
  }
}

function line(r: RolloutResult): string {
  const what =
    r.outcome === 'failed'
      ? `FAILED: ${r.error}`
      : r.outcome === 'skipped'
        ? 'not tried (the rollout stopped)'
        : r.outcome === 'already'
          ? 'already on it'
          : `upgraded from ${r.from ?? '?'} in ${r.seconds} s`;
  return `${r.canary ? 'canary ' : ''}${r.app.padEnd(30)} ${what}`;
}
