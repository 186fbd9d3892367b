// `parachute provisioner rollout` (issue 20 point 5): every live hub to one
// version. Canaries go first, one at a time, and any canary failure stops
// the rollout; then the rest, `concurrency` at a time, until more than
// `maxFailures` have failed. Each hub's one machine is updated through its
// lease (src/fly/roll.ts: the whole config back with only PARACHUTE_VERSION
// changed); its launcher fetches that release, swaps the binary on the
// volume and rolls back if the new one is not healthy. The rollout counts a
// hub upgraded only when its /health answers the new version. One app is
// never touched by two workers, and each app has one machine, so no app
// ever has two machines changing at once. 429s are waited out by the client.
import { flyAppFetch } from '../fly/app-url.ts';
import { HUB_ROLE } from '../fly/machine-config.ts';
import type { MachinesApi } from '../fly/machines-api.ts';
import { rollMachine } from '../fly/roll.ts';
import { operatorMessage } from '../platform/operator-error.ts';

export interface RolloutPlan {
  to: string;
  canary: number;
  concurrency: number;
  maxFailures: number;
}

export interface RolloutTarget {
  slug: string;
  app: string;
}

export type RolloutOutcome = 'upgraded' | 'already' | 'failed' | 'skipped';

export interface RolloutResult extends RolloutTarget {
  outcome: RolloutOutcome;
  from: string | null;
  error: string | null;
  seconds: number;
  canary: boolean;
}

/** Upgrades one hub; resolves with the version it ran before, or throws why it could not. */
export type Upgrade = (
  target: RolloutTarget,
  to: string,
) => Promise<{ from: string | null; changed: boolean }>;

export async function rollout(
  targets: RolloutTarget[],
  plan: RolloutPlan,
  upgrade: Upgrade,
  report: (result: RolloutResult) => void = () => {},
): Promise<RolloutResult[]> {
  const results = new Map<string, RolloutResult>();
  let failures = 0;
  let stopped = false;

  const one = async (target: RolloutTarget, canary: boolean) => {
    const started = performance.now();
    let result: RolloutResult;
    try {
      const { from, changed } = await upgrade(target, plan.to);
      result = {
        ...target,
        outcome: changed ? 'upgraded' : 'already',
        from,
        error: null,
        seconds: 0,
        canary,
      };
    } catch (error) {
      failures++;
      result = {
        ...target,
        outcome: 'failed',
        from: null,
        error: operatorMessage(error),
        seconds: 0,
        canary,
      };
    }
    result.seconds = Math.round((performance.now() - started) / 100) / 10;
    results.set(target.app, result);
    report(result);
  };

  const canaries = targets.slice(0, plan.canary);
  for (const target of canaries) {
    await one(target, true);
    if (failures > 0) {
      stopped = true;
      break;
    }
  }
  const queue = targets.slice(plan.canary);
  const worker = async () => {
    for (;;) {
      if (stopped || failures > plan.maxFailures) {
        stopped = true;
        return;
      }
      const target = queue.shift();
      if (!target) return;
      await one(target, false);
    }
  };
  if (!stopped) await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, worker));

  return targets.map(
    (t) =>
      results.get(t.app) ?? {
        ...t,
        outcome: 'skipped' as const,
        from: null,
        error: null,
        seconds: 0,
        canary: false,
      },
  );
}

/** The real Upgrade: the machine's lease roll, then the hub's own /health must answer `to`. */
export function flyUpgrade(
  api: MachinesApi,
  options: { edge: string | undefined; healthTimeoutS: number },
): Upgrade {
  return async ({ app }, to) => {
    const machines = (await api.listMachines(app, HUB_ROLE)).filter(
      (m) => m.state !== 'destroyed' && m.state !== 'destroying',
    );
    const machine = machines[0];
    if (!machine) throw new Error(`${app} has no hub machine`);
    const from = machine.config.env?.PARACHUTE_VERSION ?? null;
    if (from === to && (await healthVersion(app, options.edge)) === to) {
      return { from, changed: false };
    }
    if (from !== to) {
      await rollMachine(
        api,
        app,
        machine.id,
        (config) => ({ ...config, env: { ...config.env, PARACHUTE_VERSION: to } }),
        null,
      );
    }
    // The launcher swaps the binary after the machine restarts, and rolls back a bad one.
    const deadline = Date.now() + options.healthTimeoutS * 1000;
    let seen: string | null = null;
    while (Date.now() < deadline) {
      seen = await healthVersion(app, options.edge);
      if (seen === to) return { from, changed: true };
      await Bun.sleep(1000);
    }
    throw new Error(
      `/health of ${app} did not answer ${to} within ${options.healthTimeoutS} s (last: ${seen ?? 'no answer'}); the launcher may have rolled it back`,
    );
  };
}

async function healthVersion(app: string, edge: string | undefined): Promise<string | null> {
  try {
    const res = await flyAppFetch(
      app,
      '/health',
      { signal: AbortSignal.timeout(5000) },
      { PARACHUTE_FLY_EDGE: edge },
    );
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return ((await res.json()) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}
