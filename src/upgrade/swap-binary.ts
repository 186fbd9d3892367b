import { copyFileSync, existsSync, linkSync, renameSync, rmSync } from 'node:fs';

/** parachute.prev: the binary an upgrade replaced, what a rollback restores. */
export function prevPath(binary: string): string {
  return `${binary}.prev`;
}

/**
 * Puts `fresh` (written beside `binary`) in its place: first the current
 * binary is kept as parachute.prev (a hard link, so it costs no space and the
 * running hub's file is untouched), then one rename swaps the new one in. At
 * every instant `binary` is a complete executable, old or new.
 */
export function swapIn(binary: string, fresh: string): void {
  const prev = prevPath(binary);
  const staging = `${prev}.${process.pid}`;
  rmSync(staging, { force: true });
  try {
    linkSync(binary, staging);
  } catch {
    // A filesystem without hard links: a copy does the same job.
    copyFileSync(binary, staging);
  }
  renameSync(staging, prev);
  renameSync(fresh, binary);
}

/** Puts parachute.prev back; the failed new binary is dropped. */
export function rollBack(binary: string): void {
  const prev = prevPath(binary);
  if (!existsSync(prev)) throw new Error(`${prev} is missing: cannot roll back`);
  const staging = `${binary}.rollback.${process.pid}`;
  copyFileSync(prev, staging);
  renameSync(staging, binary);
}
