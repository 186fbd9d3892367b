// Waiting on a machine: `started` (the VM booted), then its checks passing
// (the hub answers /health), then the public URL answering through Fly's edge.
import { OperatorError } from '../platform/operator-error.ts';
import { flyAppFetch, flyAppOrigin } from './app-url.ts';
import type { Machine, MachinesApi } from './machines-api.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WaitLimits {
  startedS: number;
  checksS: number;
  edgeS: number;
}
export const WAIT_LIMITS: WaitLimits = { startedS: 300, checksS: 300, edgeS: 300 };

/** `wait?state=started` in a loop: each call holds at most 60 s and answers 408 when it ran out. */
export async function waitStarted(
  api: MachinesApi,
  app: string,
  id: string,
  instanceId: string | undefined,
  limitS = WAIT_LIMITS.startedS,
): Promise<void> {
  const deadline = Date.now() + limitS * 1000;
  while (Date.now() < deadline) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (await api.waitFor(app, id, 'started', { instanceId, timeoutS: Math.min(60, left) })) return;
  }
  throw new OperatorError(
    `the machine ${id} did not reach "started" within ${limitS} s.`,
    `See what it is doing in the Fly dashboard (Machines → ${id} → events and logs), then run the same command again.`,
  );
}

/** Polls the machine until every check passes ("started" only means the VM booted). */
export async function waitChecks(
  api: MachinesApi,
  app: string,
  id: string,
  limitS = WAIT_LIMITS.checksS,
): Promise<Machine> {
  const deadline = Date.now() + limitS * 1000;
  let last: Machine | null = null;
  while (Date.now() < deadline) {
    last = await api.getMachine(app, id);
    const checks = last.checks ?? [];
    if (checks.length > 0 && checks.every((c) => c.status === 'passing')) return last;
    // GET machine has its own budget (5/s); once a second leaves room for everyone else.
    await sleep(1000);
  }
  const states = (last?.checks ?? []).map((c) => `${c.name}: ${c.status}`).join(', ') || 'none yet';
  throw new OperatorError(
    `the machine ${id} started but its /health check is not passing after ${limitS} s (${states}).`,
    `The hub inside may have failed to start: see the machine's logs in the Fly dashboard (Machines → ${id}), then run the same command again.`,
  );
}

/** Polls https://APP.fly.dev/health until it answers 200 (with `version`, when given). */
export async function waitEdgeHealth(
  app: string,
  version: string | null,
  limitS = WAIT_LIMITS.edgeS,
): Promise<string> {
  const deadline = Date.now() + limitS * 1000;
  let seen = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await flyAppFetch(app, '/health', { signal: AbortSignal.timeout(5000) });
      const body = res.ok ? ((await res.json()) as { version?: string }) : null;
      if (res.ok && body && (!version || body.version === version)) return body.version ?? '';
      seen = body ? `version ${body.version}` : `HTTP ${res.status}`;
      if (!res.ok) await res.body?.cancel();
    } catch (error) {
      seen = (error as Error).message;
    }
    await sleep(1000);
  }
  throw new OperatorError(
    `${flyAppOrigin(app)}/health did not answer${version ? ` version ${version}` : ''} within ${limitS} s (last: ${seen}).`,
    'A new app’s name can take a minute or two to resolve and get its certificate; run the same command again.',
  );
}

/** Whether the hub on the app still needs its first admin: true/false, or null when it does not answer. */
export async function setupRequired(app: string): Promise<boolean | null> {
  try {
    const res = await flyAppFetch(app, '/api/setup', { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    return ((await res.json()) as { setup_required?: boolean }).setup_required ?? null;
  } catch {
    return null;
  }
}
