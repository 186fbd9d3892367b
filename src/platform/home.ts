import { mkdirSync } from 'node:fs';
import { OperatorError } from './operator-error.ts';

/** Creates PARACHUTE_HOME owner-only if missing; a path that cannot be a folder is an OperatorError. */
export function ensureHome(home: string): void {
  try {
    // Owner only: the folder holds hub.db, operator.token and module data.
    mkdirSync(home, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error';
    throw new OperatorError(
      `cannot use ${home} as PARACHUTE_HOME (${code}: ${(error as Error).message}).`,
      'Point PARACHUTE_HOME at a folder the user running parachute can create and write.',
    );
  }
}
