import { OperatorError } from '../platform/operator-error.ts';
import { EXIT } from './command.ts';

/** Prints an OperatorError as "what is wrong / what to do" and returns exit 1; rethrows anything else. */
export function reportOperatorError(error: unknown): number {
  if (error instanceof OperatorError) {
    console.error(`parachute: ${error.message}\n  ${error.hint}`);
    return EXIT.failure;
  }
  throw error;
}
