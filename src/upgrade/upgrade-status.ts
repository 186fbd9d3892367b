import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';

/**
 * The hub upgrade's progress, kept in <home>/upgrade.json by whoever runs it
 * (the CLI, or the watcher the hub starts): a file, because the process that
 * started an upgrade from the browser is gone after the restart, and the new
 * hub (or the old one, after a rollback) must still show how it ended.
 */
export type UpgradeState =
  | 'running'
  | 'succeeded'
  // The binary was replaced; no service manager runs this hub, so a person restarts it.
  | 'restart_needed'
  | 'rolled_back'
  | 'failed';

export interface UpgradeStatus {
  id: string;
  state: UpgradeState;
  from: string;
  /** The target version once known (the downloaded binary's own --version). */
  to: string | null;
  started_at: string;
  finished_at: string | null;
  steps: { at: string; message: string }[];
  /** What went wrong and what to do, for failed and rolled_back. */
  error: string | null;
  /** Set once the hub has written the outcome to the audit log. */
  audited?: boolean;
}

export const FINAL_STATES: UpgradeState[] = [
  'succeeded',
  'restart_needed',
  'rolled_back',
  'failed',
];

export function statusFile(home: string): string {
  return join(home, 'upgrade.json');
}

export function readStatus(home: string): UpgradeStatus | null {
  const file = statusFile(home);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as UpgradeStatus;
  } catch {
    return null;
  }
}

export function writeStatus(home: string, status: UpgradeStatus): void {
  writeFileAtomic(statusFile(home), `${JSON.stringify(status, null, 2)}\n`);
}

/** A running upgrade whose writer has not said anything for this long is taken as dead. */
export const STALE_MS = 5 * 60_000;

/** True while an upgrade is in flight (so a second one is refused). */
export function upgradeRunning(status: UpgradeStatus | null, now = Date.now()): boolean {
  if (status?.state !== 'running') return false;
  const last = status.steps.at(-1)?.at ?? status.started_at;
  return now - Date.parse(last) < STALE_MS;
}
