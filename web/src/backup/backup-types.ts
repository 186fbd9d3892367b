/**
 * What GET /api/hub/backups answers (the scheduled-backups contract). The
 * config never holds a secret: `secret_set` and `passphrase_set` only say
 * one is stored.
 */
export interface BackupsInfo {
  /** The hub's time zone, in which schedules are read. */
  time_zone: string;
  config: PublicBackupConfig | null;
  status: BackupStatus;
  /** Newest first, at most 20. */
  runs: BackupRun[];
}

export interface BackupStatus {
  state: 'off' | 'ok' | 'running' | 'failing' | 'missing';
  /** One sentence for people, written by the hub. */
  message: string;
  last_good_at: number | null;
  next_run_at: number | null;
}

export type ScheduleEvery = 'hourly' | 'daily' | 'weekly';

export interface PublicBackupConfig {
  enabled: boolean;
  schedule: { every: ScheduleEvery; at: string };
  /** The hub's zone, in which `schedule.at` is read. */
  time_zone: string;
  retention: { keep: number; max_age_days: number };
  target:
    | { kind: 'local'; path: string }
    | {
        kind: 's3';
        endpoint: string;
        bucket: string;
        region: string;
        prefix: string;
        access_key_id: string;
        secret_set: boolean;
      };
  encryption:
    | { kind: 'passphrase'; passphrase_set: boolean }
    | { kind: 'recipient'; recipient: string };
  webhook_url: string | null;
}

export type RunStage = 'snapshot' | 'encrypt' | 'upload' | 'download' | 'drill' | 'prune' | 'done';

export interface BackupRun {
  id: number;
  /** `upgrade`: the hub backed up before upgrading itself. */
  trigger: 'schedule' | 'manual' | 'upgrade';
  started_at: number;
  finished_at: number | null;
  state: 'running' | 'ok' | 'failed';
  stage: RunStage;
  object: string | null;
  bytes: number | null;
  stored_bytes: number | null;
  files: number | null;
  databases: number | null;
  drill: null | { ok: boolean; ms: number; databases: number; tables: number; rows: number };
  /** Operator-facing: what went wrong and what to do. */
  error: string | null;
  /** Retention has removed its archive from the target. */
  pruned?: boolean;
}
