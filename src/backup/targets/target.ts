import { LocalTarget } from './local-target.ts';
import { S3Target } from './s3-target.ts';

/**
 * Where scheduled backups are kept: a local folder or an S3-compatible
 * bucket. Every failure a person must act on (unreachable, credentials
 * refused, full, missing) rejects with an OperatorError saying what and what
 * to do. Names are bare object names (see BACKUP_NAME); an S3 target adds its
 * key prefix.
 */
export interface BackupTarget {
  /** For people: "folder /srv/backups", "S3 bucket b at https://… (prefix hub/)". */
  describe(): string;
  /** Stores the local file `file` as `name`; resolves with the bytes stored. Never leaves a half-stored `name`. */
  put(name: string, file: string): Promise<number>;
  /** Writes the object `name` to the new local file `dest`; resolves with its bytes. */
  get(name: string, dest: string): Promise<number>;
  /** The finished backups (names matching BACKUP_NAME), oldest first. */
  list(): Promise<BackupObject[]>;
  /** Deletes `name`; a name already gone is not an error. */
  remove(name: string): Promise<void>;
  /** Writes, reads back and deletes a small object: rejects unless the target works. */
  probe(): Promise<void>;
}

export interface BackupObject {
  name: string;
  size: number;
  /** ms epoch */
  modified: number;
}

/** A finished backup's name: what `backupName` makes. Nothing else is listed or pruned. */
export const BACKUP_NAME = /^parachute-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.tar\.gz\.age$/;

/** parachute-backup-2026-12-02T03-00-00-000Z.tar.gz.age for a backup taken at `at`. */
export function backupName(at: Date): string {
  return `parachute-backup-${at.toISOString().replace(/[:.]/g, '-')}.tar.gz.age`;
}

/** The target settings kept in backup.json (secrets apart). */
export type TargetConfig =
  | { kind: 'local'; path: string }
  | {
      kind: 's3';
      endpoint: string;
      bucket: string;
      region: string;
      prefix: string;
      access_key_id: string;
    };

export interface TargetSecrets {
  secret_access_key?: string;
}

export function openTarget(config: TargetConfig, secrets: TargetSecrets = {}): BackupTarget {
  if (config.kind === 'local') return new LocalTarget(config.path);
  return new S3Target({
    endpoint: config.endpoint,
    bucket: config.bucket,
    region: config.region,
    prefix: config.prefix,
    accessKeyId: config.access_key_id,
    secretAccessKey: secrets.secret_access_key ?? '',
  });
}

/** Refuses a name that is not a backup's (a programming error, not an operator's). */
export function checkName(name: string): void {
  if (!BACKUP_NAME.test(name)) throw new Error(`not a backup object name: ${name}`);
}
