import { accessSync, constants, mkdirSync } from 'node:fs';
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
  try {
    accessSync(home, constants.W_OK | constants.X_OK);
  } catch {
    // Typical of a container volume mounted owned by root while the image runs as a user.
    throw new OperatorError(
      `${home} (PARACHUTE_HOME) is not writable by this user (uid ${process.getuid?.() ?? '?'}).`,
      'Give the folder to the user that runs parachute (chown). In the container image that is uid 1000: chown 1000:1000 on the volume.',
    );
  }
}
