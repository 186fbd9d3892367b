import { OperatorError } from '../operator-error.ts';
import type { UnitManager } from './manager.ts';

/** How long a started hub gets to answer before the CLI shows its log. */
export const HUB_START_TIMEOUT_MS = 30_000;

/**
 * Waits until the hub on loopback `port` answers /health and /api/ready
 * (boot done: the operator token is written, the API answers). On timeout
 * the error carries the manager's recent log of the hub, so the operator
 * sees why without knowing where the log lives.
 */
export async function waitForHub(
  port: number,
  manager: UnitManager,
  home: string,
  timeoutMs = HUB_START_TIMEOUT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if ((await answers(port, '/health')) && (await answers(port, '/api/ready'))) return;
    await Bun.sleep(200);
  }
  const log = await manager.recentLog(home);
  throw new OperatorError(
    `the hub did not answer on http://127.0.0.1:${port}/health within ${timeoutMs / 1000} s (the manager says: ${await manager.state()}).`,
    `${log ? `Its recent log:\n${log}\n  ` : ''}See more with \`${manager.logCommand(home)}\`.`,
  );
}

async function answers(port: number, path: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
