import type { Subprocess } from 'bun';
import type { ProcessGroups } from './process-group.ts';

/** A module's process as the supervisor spawns it: the leader of its own group. */
export type Child = Subprocess<'ignore', 'pipe', 'pipe'>;

/** True once the runtime reaped the child (its exit code or signal is known). */
export function exited(child: Child): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Signals the child's whole group, but only while that group is still
 * ours (modules.md section 5: never a stale pid). Until the runtime reaps
 * the leader, its pid, which is the group's id, cannot be handed out again;
 * after that, only a group with members still alive is signalled (the
 * kernel does not reuse the id of a live group). The supervisor forgets a
 * child once its exit is handled, so nothing signals it later.
 */
export function signalChild(groups: ProcessGroups, child: Child, signal: NodeJS.Signals): boolean {
  if (exited(child) && !groups.alive(child.pid)) return false;
  return groups.signal(child.pid, signal);
}

/**
 * SIGTERM to the child's group, SIGKILL after `stopGraceMs`, then waits at
 * most `killWaitMs` for the group to be gone. True when it is; false when a
 * member outlived SIGKILL (stuck in the kernel, or one the hub may not
 * signal), which must be reported rather than waited for: an endless wait
 * would hang the stop and the hub's shutdown with it.
 */
export async function stopChild(
  groups: ProcessGroups,
  child: Child,
  knobs: { stopGraceMs: number; killWaitMs: number },
  note: (message: string) => void,
): Promise<boolean> {
  const gone = () => exited(child) && !groups.alive(child.pid);
  signalChild(groups, child, 'SIGTERM');
  if (await within(knobs.stopGraceMs, gone)) return true;
  note(`did not stop within ${knobs.stopGraceMs} ms of SIGTERM; sending SIGKILL`);
  signalChild(groups, child, 'SIGKILL');
  return within(knobs.killWaitMs, gone);
}

/** Polls `done` until it holds (true) or `ms` pass on the monotonic clock (false). */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}
