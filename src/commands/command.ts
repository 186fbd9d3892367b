/** One CLI verb. `run` returns the process exit code. */
export interface Command {
  name: string;
  /** One line: how to call it. */
  usage: string;
  /** One line: what it does, shown in `parachute --help`. */
  summary: string;
  /** Longer help shown by `parachute <verb> --help`. */
  help?: string;
  run(args: string[]): Promise<number>;
}

/** Exit codes shared by every verb. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the command was called: printed with its usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
