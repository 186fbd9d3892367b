/** A supervised module's state (modules.md section 5); a closed set. */
export type ModuleState =
  | 'stopped'
  | 'starting'
  | 'running'
  | 'unbound'
  | 'backoff'
  | 'crashed'
  | 'stopping';

// Every legal move, in one place (supervisord-style). Anything else is a bug.
const ALLOWED: Record<ModuleState, ModuleState[]> = {
  stopped: ['starting', 'crashed'],
  starting: ['running', 'unbound', 'backoff', 'crashed', 'stopping'],
  running: ['backoff', 'crashed', 'stopping'],
  unbound: ['running', 'backoff', 'crashed', 'stopping'],
  backoff: ['starting', 'crashed', 'stopping'],
  crashed: ['starting', 'stopped'],
  stopping: ['stopped'],
};

/** Moves `holder` to `to`, or throws if that move is not a legal one. */
export function transition(holder: { state: ModuleState; name: string }, to: ModuleState): void {
  if (!ALLOWED[holder.state].includes(to)) {
    throw new Error(`supervisor bug: ${holder.name} cannot go from ${holder.state} to ${to}`);
  }
  holder.state = to;
}

/** States in which a child process exists. */
export function hasProcess(state: ModuleState): boolean {
  return state === 'starting' || state === 'running' || state === 'unbound' || state === 'stopping';
}
