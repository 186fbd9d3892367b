import { OperatorError } from '../platform/operator-error.ts';
import { EXIT } from './command.ts';
import type { HubClient } from './hub-client.ts';
import { reportState, settle } from './module-state.ts';

/** The final event of GET /api/modules/operations/:id?follow=1. */
interface OperationResult {
  kind: string;
  target: string;
  state: 'succeeded' | 'failed';
  error?: string;
  module?: string;
}

/**
 * Prints an install or upgrade operation's progress lines as they arrive,
 * then waits for the module to come up. Returns the exit code: 1 when the
 * operation failed or the module did not start.
 */
export async function followOperation(client: HubClient, id: string): Promise<number> {
  for await (const { event, data } of client.stream(`/api/modules/operations/${id}?follow=1`)) {
    if (event === 'line') {
      console.log((JSON.parse(data) as { line: string }).line);
      continue;
    }
    if (event !== 'done') continue;
    const op = JSON.parse(data) as OperationResult;
    if (op.state === 'failed') {
      // The last progress line already said "failed: ..."; this names what failed, on stderr.
      console.error(
        `parachute: ${op.kind} of ${op.target} failed: ${op.error ?? 'no reason given'}`,
      );
      return EXIT.failure;
    }
    if (!op.module) return EXIT.ok;
    const module = await settle(client, op.module);
    return module ? reportState(module.module ?? module.name, module) : EXIT.ok;
  }
  throw new OperatorError(
    'the hub closed the progress stream before the operation finished.',
    'It may have stopped; start it and check with `parachute status`.',
  );
}
