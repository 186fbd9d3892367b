import { waitFor } from './binary.ts';
import type { OperatorCall } from './modules.ts';

/** A scheduled-backup run as GET /api/hub/backups lists it (the fields tests read). */
export interface BackupRun {
  id: number;
  state: string;
  stage: string;
  trigger: string;
  object: string | null;
  error: string | null;
  stored_bytes: number | null;
  drill: { ok: boolean; databases: number; tables: number; rows: number } | null;
}

/** Waits until run `id` (without one, the newest run) has ended; returns it. */
export function backupRunEnded(call: OperatorCall, id?: number, timeoutMs = 60_000) {
  return waitFor(
    'the backup run to end',
    async () => {
      const runs = (await call('GET', '/api/hub/backups')).json.runs as BackupRun[];
      const run = id === undefined ? runs[0] : runs.find((r) => r.id === id);
      return run && run.state !== 'running' ? run : undefined;
    },
    timeoutMs,
  );
}

/** POST /api/hub/backups/run, then waits for that run to end. */
export async function backUpNow(call: OperatorCall, timeoutMs = 60_000): Promise<BackupRun> {
  const started = await call('POST', '/api/hub/backups/run');
  if (started.status !== 202)
    throw new Error(`no backup started: ${started.status} ${started.text}`);
  return backupRunEnded(call, (started.json.run as BackupRun).id, timeoutMs);
}
