import { EXIT } from './command.ts';
import type { HubClient, ModuleInfo } from './hub-client.ts';

// States the supervisor passes through on its own; anything else is where a module stays.
const MOVING = new Set(['starting', 'stopping', 'backoff']);
// States that mean the module is not serving and needs the operator (modules.md section 5).
const FAILED = new Set(['crashed', 'unbound']);
// Longer than the default readiness gate (10 s) plus a few crash restarts with backoff.
const SETTLE_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

/** True when `m` is the module called `name` (its row name or its short name). */
export function isNamed(m: ModuleInfo, name: string): boolean {
  return m.name === name || m.module === name;
}

/**
 * Polls GET /api/modules until the module leaves starting/stopping/backoff,
 * so a verb can say whether it actually came up. Returns the last view seen
 * (still moving after the deadline), or null if the module is gone.
 */
export async function settle(client: HubClient, name: string): Promise<ModuleInfo | null> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const found = (await client.modules()).find((m) => isNamed(m, name)) ?? null;
    if (!found || !MOVING.has(found.state) || Date.now() > deadline) return found;
    await Bun.sleep(POLL_MS);
  }
}

/** Prints `<name>: <state>`, then what `explain` says; returns the exit code. */
export function reportState(name: string, m: ModuleInfo): number {
  console.log(`${name}: ${m.state}`);
  return explain(name, m);
}

/** For a failed module prints why and where to look (exit 1); for a slow one, how to follow it. */
export function explain(name: string, m: ModuleInfo): number {
  if (FAILED.has(m.state)) {
    console.error(
      `parachute: ${name} is ${m.state}: ${m.lastError?.message ?? 'no reason recorded'}\n` +
        `  See its output with \`parachute logs ${name}\`; start it again with \`parachute start ${name}\`.`,
    );
    return EXIT.failure;
  }
  if (MOVING.has(m.state)) {
    console.log(
      `  still ${m.state} after ${SETTLE_TIMEOUT_MS / 1000} s; follow it with \`parachute logs -f ${name}\``,
    );
  }
  return EXIT.ok;
}
