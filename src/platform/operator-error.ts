/**
 * A failure the person running the hub must act on: `message` says what is
 * wrong, `hint` what to do. Commands print both and exit 1, never a stack trace.
 */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

/** One sentence for the operator: an OperatorError's message and hint, else the error's message. */
export function operatorMessage(error: unknown): string {
  if (error instanceof OperatorError) {
    return `${error.message.replace(/\.$/, '')}. ${error.hint}`;
  }
  return error instanceof Error ? error.message : String(error);
}
