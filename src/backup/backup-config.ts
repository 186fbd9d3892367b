import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { type BackupTarget, openTarget } from './targets/target.ts';

/**
 * Scheduled backups' settings (deploy.md, "Scheduled backups"), kept in
 * <home>/backup.json with mode 0600: it holds the S3 secret, the passphrase
 * and the hub's drill identity, none of which the API ever returns.
 */
export const BACKUP_CONFIG_FILE = 'backup.json';

const TimeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day, HH:MM');

const Schedule = z.object({
  every: z.enum(['hourly', 'daily', 'weekly']),
  /** Time of day in the hub's time zone; hourly runs use its minutes. */
  at: TimeOfDay,
});

const Retention = z.object({
  keep: z.number().int().min(1, 'keep at least one backup').max(1000),
  max_age_days: z.number().int().min(1, 'keep backups at least a day').max(3650),
});

const LocalTarget = z.object({
  kind: z.literal('local'),
  path: z
    .string()
    .trim()
    .min(1, 'give the folder backups are written to')
    .refine(isAbsolute, 'must be an absolute path, such as /mnt/backup/parachute'),
});

const S3Target = z.object({
  kind: z.literal('s3'),
  endpoint: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^/]+/.test(v) && URL.canParse(v), 'must be an http(s) URL'),
  bucket: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be a bucket name: 3–63 of a–z, 0–9, . and -',
    ),
  region: z.string().trim().max(64).default('auto'),
  /** Key prefix inside the bucket, e.g. "hubs/home/"; empty for the bucket's root. */
  prefix: z
    .string()
    .trim()
    .max(512)
    .refine((v) => !v.startsWith('/') && !v.includes('..'), 'must be a relative key prefix')
    .default(''),
  access_key_id: z.string().trim().min(1, 'give the access key id').max(256),
  secret_access_key: z.string().min(1, 'give the secret access key').max(512),
});

const PassphraseEncryption = z.object({
  kind: z.literal('passphrase'),
  passphrase: z.string().min(12, 'use a passphrase of at least 12 characters').max(1024),
});

const RecipientEncryption = z.object({
  kind: z.literal('recipient'),
  recipient: z
    .string()
    .trim()
    .min(1, 'give the age public key (age1…) the backups are encrypted to'),
});

export const StoredBackupConfig = z.object({
  enabled: z.boolean(),
  schedule: Schedule,
  retention: Retention,
  target: z.discriminatedUnion('kind', [LocalTarget, S3Target]),
  encryption: z.discriminatedUnion('kind', [PassphraseEncryption, RecipientEncryption]),
  webhook_url: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http(s) URL')
    .nullable()
    .default(null),
  /**
   * The hub's own age identity (AGE-SECRET-KEY-1…): archives for a
   * recipient are also encrypted to it, so the hub can run its restore
   * drill while the operator's key stays off the hub.
   */
  drill_identity: z.string().startsWith('AGE-SECRET-KEY-1'),
  /** When these settings were saved (ms): "none good in 26 h" counts from here too. */
  saved_at: z.number().int(),
});
export type StoredBackupConfig = z.infer<typeof StoredBackupConfig>;
export type StoredTarget = StoredBackupConfig['target'];

/** What GET /api/hub/backups shows: the settings without any secret. */
export type PublicBackupConfig = ReturnType<typeof publicConfig>;

export function publicConfig(config: StoredBackupConfig) {
  const { target, encryption } = config;
  return {
    enabled: config.enabled,
    schedule: config.schedule,
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    retention: config.retention,
    target:
      target.kind === 'local'
        ? { kind: 'local' as const, path: target.path }
        : {
            kind: 's3' as const,
            endpoint: target.endpoint,
            bucket: target.bucket,
            region: target.region,
            prefix: target.prefix,
            access_key_id: target.access_key_id,
            secret_set: true,
          },
    encryption:
      encryption.kind === 'passphrase'
        ? { kind: 'passphrase' as const, passphrase_set: true }
        : { kind: 'recipient' as const, recipient: encryption.recipient },
    webhook_url: config.webhook_url,
    saved_at: config.saved_at,
  };
}

/** The PUT body: the public settings plus write-only secrets (empty or absent keeps the stored one). */
/** A write-only secret in a PUT: empty keeps the stored one, anything else is checked as `full`. */
const keptOr = (full: z.ZodString) => z.union([z.literal(''), full]).optional();

const ConfigInput = z.object({
  enabled: z.boolean().default(true),
  schedule: Schedule.default({ every: 'daily', at: '03:00' }),
  retention: Retention.default({ keep: 7, max_age_days: 30 }),
  target: z.discriminatedUnion('kind', [
    LocalTarget,
    S3Target.extend({ secret_access_key: keptOr(S3Target.shape.secret_access_key) }),
  ]),
  encryption: z.discriminatedUnion('kind', [
    PassphraseEncryption.extend({ passphrase: keptOr(PassphraseEncryption.shape.passphrase) }),
    RecipientEncryption,
  ]),
  webhook_url: z.string().trim().nullable().optional(),
});

export type ConfigProblems = { description: string; fields: Record<string, string> };

/**
 * Merges a PUT body into the stored settings: secrets left empty keep the
 * stored ones (never sent back, so a form cannot show them). Returns the
 * new settings, or each wrong field by its dotted path.
 */
export function mergeConfigInput(
  input: unknown,
  stored: StoredBackupConfig | null,
  ctx: { home: string; drillIdentity: string; now: number },
): { config: StoredBackupConfig } | { problems: ConfigProblems } {
  const parsed = ConfigInput.safeParse(input ?? {});
  if (!parsed.success) return { problems: problemsOf(parsed.error) };
  const body = parsed.data;
  const target = { ...body.target };
  if (target.kind === 's3' && !target.secret_access_key) {
    const kept = stored?.target.kind === 's3' ? stored.target.secret_access_key : undefined;
    target.secret_access_key = kept;
  }
  const encryption = { ...body.encryption };
  if (encryption.kind === 'passphrase' && !encryption.passphrase) {
    encryption.passphrase =
      stored?.encryption.kind === 'passphrase' ? stored.encryption.passphrase : undefined;
  }
  const candidate = {
    enabled: body.enabled,
    schedule: body.schedule,
    retention: body.retention,
    target,
    encryption,
    webhook_url: body.webhook_url ? body.webhook_url : null,
    drill_identity: stored?.drill_identity ?? ctx.drillIdentity,
    saved_at: ctx.now,
  };
  const checked = StoredBackupConfig.safeParse(candidate);
  if (!checked.success) return { problems: problemsOf(checked.error) };
  const config = checked.data;
  if (config.target.kind === 'local') {
    const inside = relative(resolve(ctx.home), resolve(config.target.path));
    if (!inside.startsWith('..') && !isAbsolute(inside)) {
      const message =
        'must be outside PARACHUTE_HOME: a backup inside the hub would be exported into the next one and lost with the disk';
      return {
        problems: { description: `target.path ${message}`, fields: { 'target.path': message } },
      };
    }
  }
  return { config };
}

function problemsOf(error: z.ZodError): ConfigProblems {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || 'body';
    fields[key] ??=
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  }
  const description = Object.entries(fields)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
  return { description, fields };
}

export function configPath(home: string): string {
  return join(home, BACKUP_CONFIG_FILE);
}

/**
 * The stored settings, or null when backups were never set up. A file that
 * does not parse is reported, never silently replaced: the operator's
 * passphrase may be the only copy.
 */
export function readBackupConfig(home: string): StoredBackupConfig | null {
  const path = configPath(home);
  if (!existsSync(path)) return null;
  const parsed = StoredBackupConfig.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${path} is not valid backup settings: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

export function writeBackupConfig(home: string, config: StoredBackupConfig): void {
  writeFileAtomic(configPath(home), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/** The target the settings name, with its credentials. */
export function targetOf(config: StoredBackupConfig): BackupTarget {
  const { target } = config;
  return target.kind === 's3'
    ? openTarget(target, { secret_access_key: target.secret_access_key })
    : openTarget(target);
}
