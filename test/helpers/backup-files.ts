// Small files and checks shared by the backup library tests (age files, targets, a full disk).
import { expect } from 'bun:test';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../../src/platform/operator-error.ts';

/** A file of `kib` KiB of random bytes in `dir` (nothing compresses it). */
export function randomFile(dir: string, name: string, kib: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  // getRandomValues fills at most 64 KiB at a time.
  const block = new Uint8Array(65536);
  for (let left = kib; left > 0; left -= 64) {
    writeSync(fd, crypto.getRandomValues(block.subarray(0, Math.min(left, 64) * 1024)));
  }
  closeSync(fd);
  return path;
}

/** True when two files hold the same bytes. */
export const sameBytes = (a: string, b: string) =>
  Bun.hash(readFileSync(a)) === Bun.hash(readFileSync(b));

/** The OperatorError `promise` rejects with (the test fails if it resolves or throws anything else). */
export async function refusal(promise: Promise<unknown>): Promise<OperatorError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OperatorError);
  return error as OperatorError;
}
