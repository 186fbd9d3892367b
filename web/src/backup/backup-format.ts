import type { BackupRun, RunStage } from './backup-types.ts';

const KB = 1024;
const MB = KB * 1024;
const GB = MB * 1024;

/** A size as people read it: 412 KB, 3.1 MB, 1.2 GB. */
export function formatBytes(bytes: number): string {
  if (bytes >= GB) return `${(bytes / GB).toFixed(1)} GB`;
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / KB))} KB`;
}

const number = new Intl.NumberFormat('en');
const plural = (n: number, one: string, many: string) =>
  `${number.format(n)} ${n === 1 ? one : many}`;

/** A passed restore drill: "restored 3 databases, 41 tables, 1,204 rows in 2.1 s". */
export function drillText(drill: NonNullable<BackupRun['drill']>): string {
  const counts = [
    plural(drill.databases, 'database', 'databases'),
    plural(drill.tables, 'table', 'tables'),
    plural(drill.rows, 'row', 'rows'),
  ].join(', ');
  // A small hub restores in milliseconds: "0.0 s" would read as nothing happened.
  const took = drill.ms < 1000 ? `${Math.round(drill.ms)} ms` : `${(drill.ms / 1000).toFixed(1)} s`;
  return `restored ${counts} in ${took}`;
}

/** What a running backup is doing, in words. */
export const STAGES: Record<RunStage, string> = {
  snapshot: 'making a snapshot',
  encrypt: 'encrypting',
  upload: 'storing it in the target',
  download: 'reading it back',
  drill: 'test-restoring it',
  prune: 'removing old backups',
  done: 'finishing',
};
