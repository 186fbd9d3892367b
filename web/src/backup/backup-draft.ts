import type { PublicBackupConfig, ScheduleEvery } from './backup-types.ts';

/**
 * The settings form as a person fills it in: every value a string (or a
 * checkbox) so a half-typed field is kept as typed. Secrets start empty and
 * are never filled from the hub: empty means "keep the stored one".
 */
export interface BackupDraft {
  enabled: boolean;
  every: ScheduleEvery;
  at: string;
  keep: string;
  maxAgeDays: string;
  targetKind: 'local' | 's3';
  path: string;
  endpoint: string;
  bucket: string;
  region: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  encryptionKind: 'passphrase' | 'recipient';
  passphrase: string;
  passphraseConfirm: string;
  recipient: string;
  webhookUrl: string;
}

/** Messages by field, keyed by the hub's dotted paths (`target.bucket`). */
export type FieldErrors = Partial<Record<string, string>>;

/** The form for the stored settings, or the defaults (daily at 03:00, keep 7 for 30 days). */
export function draftOf(config: PublicBackupConfig | null): BackupDraft {
  const target = config?.target;
  const encryption = config?.encryption;
  return {
    enabled: config?.enabled ?? true,
    every: config?.schedule.every ?? 'daily',
    at: config?.schedule.at ?? '03:00',
    keep: String(config?.retention.keep ?? 7),
    maxAgeDays: String(config?.retention.max_age_days ?? 30),
    targetKind: target?.kind ?? 'local',
    path: target?.kind === 'local' ? target.path : '',
    endpoint: target?.kind === 's3' ? target.endpoint : '',
    bucket: target?.kind === 's3' ? target.bucket : '',
    region: target?.kind === 's3' ? target.region : '',
    prefix: target?.kind === 's3' ? target.prefix : '',
    accessKeyId: target?.kind === 's3' ? target.access_key_id : '',
    secretAccessKey: '',
    encryptionKind: encryption?.kind ?? 'passphrase',
    passphrase: '',
    passphraseConfirm: '',
    recipient: encryption?.kind === 'recipient' ? encryption.recipient : '',
    webhookUrl: config?.webhook_url ?? '',
  };
}

/** Whole numbers go as numbers; anything else as typed, so the hub names the field. */
function count(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * The PUT /api/hub/backups/config body. An empty secret is left out, which
 * tells the hub to keep the stored one.
 */
export function configBody(draft: BackupDraft): Record<string, unknown> {
  const target =
    draft.targetKind === 'local'
      ? { kind: 'local', path: draft.path.trim() }
      : {
          kind: 's3',
          endpoint: draft.endpoint.trim(),
          bucket: draft.bucket.trim(),
          region: draft.region.trim(),
          prefix: draft.prefix.trim(),
          access_key_id: draft.accessKeyId.trim(),
          ...(draft.secretAccessKey ? { secret_access_key: draft.secretAccessKey } : {}),
        };
  const encryption =
    draft.encryptionKind === 'passphrase'
      ? { kind: 'passphrase', ...(draft.passphrase ? { passphrase: draft.passphrase } : {}) }
      : { kind: 'recipient', recipient: draft.recipient.trim() };
  return {
    enabled: draft.enabled,
    schedule: { every: draft.every, at: draft.at },
    retention: { keep: count(draft.keep), max_age_days: count(draft.maxAgeDays) },
    target,
    encryption,
    webhook_url: draft.webhookUrl.trim() === '' ? null : draft.webhookUrl.trim(),
  };
}

/** Whether the hub holds a secret the draft may leave empty to keep. */
export function storedSecrets(config: PublicBackupConfig | null) {
  return {
    secretKey: config?.target.kind === 's3' && config.target.secret_set,
    passphrase: config?.encryption.kind === 'passphrase' && config.encryption.passphrase_set,
  };
}

/**
 * What only the form can check: the hub never sees the confirmation, and a
 * secret it does not hold yet must be given. Everything else (paths, ranges,
 * URLs) is the hub's to say, by field.
 */
export function draftErrors(draft: BackupDraft, config: PublicBackupConfig | null): FieldErrors {
  const stored = storedSecrets(config);
  const errors: FieldErrors = {};
  if (draft.encryptionKind === 'passphrase') {
    if (!draft.passphrase && !stored.passphrase)
      errors['encryption.passphrase'] = 'Choose a passphrase: backups are encrypted with it.';
    else if (draft.passphrase && draft.passphrase !== draft.passphraseConfirm)
      errors['encryption.passphrase_confirm'] =
        'The two passphrases differ: type the same one twice.';
  }
  if (draft.targetKind === 's3' && !draft.secretAccessKey && !stored.secretKey)
    errors['target.secret_access_key'] = 'Give the secret access key that goes with the key ID.';
  return errors;
}

/** Draft fields to the hub's dotted paths, so editing a field clears the hub's word on it. */
export const FIELD_PATHS: Record<keyof BackupDraft, string> = {
  enabled: 'enabled',
  every: 'schedule.every',
  at: 'schedule.at',
  keep: 'retention.keep',
  maxAgeDays: 'retention.max_age_days',
  targetKind: 'target.kind',
  path: 'target.path',
  endpoint: 'target.endpoint',
  bucket: 'target.bucket',
  region: 'target.region',
  prefix: 'target.prefix',
  accessKeyId: 'target.access_key_id',
  secretAccessKey: 'target.secret_access_key',
  encryptionKind: 'encryption.kind',
  passphrase: 'encryption.passphrase',
  passphraseConfirm: 'encryption.passphrase_confirm',
  recipient: 'encryption.recipient',
  webhookUrl: 'webhook_url',
};
