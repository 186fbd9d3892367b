import { Database } from 'bun:sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { readRuntime } from '../platform/runtime-file.ts';

/** The claim of one hub on its PARACHUTE_HOME (product.md invariant 5). */
export interface HomeLock {
  /** Gives the home up; safe to call more than once. */
  release(): void;
}

// Closing a connection drops its lock, and bun:sqlite closes connections the
// garbage collector finds unreferenced: the held ones live here.
const held = new Set<Database>();

/** How long a refused hub waits for the running one to write run/hub.json (it does so right after binding). */
const HOLDER_WAIT_MS = 2000;

/**
 * Claims `home` for this process for as long as it lives: an exclusive
 * SQLite lock (a POSIX record lock) on `run/hub.lock`, held by a
 * transaction that never ends. Bun has no flock(); a record lock is the
 * same guarantee: the kernel drops it when the process dies however it
 * dies (SIGKILL included), so a crashed hub never blocks the next one, and
 * no pid file has to be judged stale. The lock is not inherited by
 * children, so modules a dead hub left behind do not keep it.
 *
 * A home another live process holds is a HomeInUseError naming that hub's
 * pid and port; nothing in the home is touched.
 */
export async function lockHome(home: string): Promise<HomeLock> {
  const run = hubPaths(home).run;
  const path = join(run, 'hub.lock');
  let db: Database | undefined;
  try {
    mkdirSync(run, { recursive: true, mode: 0o700 });
    db = new Database(path, { create: true });
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db?.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw await inUse(home, path);
    throw new OperatorError(
      `cannot lock ${path}: ${(error as Error).message}`,
      'It only marks the running hub; when no parachute is running on this PARACHUTE_HOME, delete it and start again.',
    );
  }
  const lock = db;
  held.add(lock);
  return {
    release() {
      if (!held.delete(lock)) return;
      lock.exec('ROLLBACK');
      lock.close();
    },
  };
}

/** Another hub runs on this home. */
export class HomeInUseError extends OperatorError {
  override name = 'HomeInUseError';
}

async function inUse(home: string, path: string): Promise<HomeInUseError> {
  // The holder writes run/hub.json right after taking the lock and its port.
  const deadline = performance.now() + HOLDER_WAIT_MS;
  let holder = readRuntime(home);
  while ((!holder || holder.pid === process.pid) && performance.now() < deadline) {
    await Bun.sleep(50);
    holder = readRuntime(home);
  }
  const stopIt = holder
    ? `stop it first (Ctrl-C in its terminal, \`parachute stop\` when it runs as a service, or \`kill ${holder.pid}\`)`
    : 'stop it first';
  return new HomeInUseError(
    holder
      ? `another hub is already running on PARACHUTE_HOME=${home} (pid ${holder.pid}, port ${holder.port}).`
      : `another hub is already running on PARACHUTE_HOME=${home} (it holds ${path}).`,
    `One home, one hub: use that one (\`parachute status\`), ${stopIt}, or give this one a home of its own (PARACHUTE_HOME=/another/folder parachute serve). Nothing was changed.`,
  );
}
