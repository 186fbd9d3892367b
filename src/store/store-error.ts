import { OperatorError } from '../platform/operator-error.ts';

/** A database problem the operator must act on: what is wrong, and what to do about it. */
export class StoreError extends OperatorError {
  override name = 'StoreError';
}

/** hub.db is locked by another process; opening may succeed if retried. */
export class StoreBusyError extends StoreError {
  override name = 'StoreBusyError';
}
