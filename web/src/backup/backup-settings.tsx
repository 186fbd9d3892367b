import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api.ts';
import { FormError, useAction } from '../forms.tsx';
import {
  type BackupDraft,
  configBody,
  draftErrors,
  draftOf,
  FIELD_PATHS,
  type FieldErrors,
  storedSecrets,
} from './backup-draft.ts';
import { BackupInput, BackupSelect } from './backup-input.tsx';
import type { PublicBackupConfig, ScheduleEvery } from './backup-types.ts';

/** Shown in a secret's empty field when the hub holds one; it is never sent back. */
export const STORED = 'stored — leave empty to keep';

const EVERY: [ScheduleEvery, string][] = [
  ['hourly', 'Every hour'],
  ['daily', 'Every day'],
  ['weekly', 'Every week'],
];

/**
 * The scheduled-backup settings (PUT /api/hub/backups/config). The hub
 * checks the target before it saves, so a wrong path or key is said here,
 * by field or for the whole form, and nothing is saved.
 */
export function BackupSettings(props: {
  config: PublicBackupConfig | null;
  /** The hub's zone (GET /api/hub/backups `time_zone`), shown before anything is set up too. */
  timeZone: string;
  onSaved: () => Promise<void>;
}) {
  const { config } = props;
  const [draft, setDraft] = useState<BackupDraft>(() => draftOf(config));
  const [hubErrors, setHubErrors] = useState<FieldErrors>({});
  const [showOwn, setShowOwn] = useState(false);
  const { busy, error, setError, run } = useAction();
  const stored = storedSecrets(config);
  const errors: FieldErrors = { ...(showOwn ? draftErrors(draft, config) : {}), ...hubErrors };

  function set(patch: Partial<BackupDraft>) {
    // A field changed by hand is no longer what the hub refused.
    const stale = Object.keys(patch).map((key) => FIELD_PATHS[key as keyof BackupDraft]);
    setHubErrors((all) =>
      Object.fromEntries(Object.entries(all).filter(([path]) => !stale.includes(path))),
    );
    setDraft((old) => ({ ...old, ...patch }));
  }

  function submit(event: Event) {
    event.preventDefault();
    setShowOwn(true);
    if (Object.keys(draftErrors(draft, config)).length > 0) {
      setError('Some fields need fixing: see the marked ones.');
      return;
    }
    setHubErrors({});
    void run(
      async () => {
        await api('PUT', '/api/hub/backups/config', configBody(draft));
        await props.onSaved();
      },
      (caught) => {
        if (caught instanceof ApiError && caught.error === 'invalid_backup_config') {
          const fields = sentences((caught.body?.fields ?? {}) as Record<string, string>);
          setHubErrors(fields);
          return <RefusedFields fields={fields} draft={draft} />;
        }
        return `The settings were not saved: ${describeError(caught)}`;
      },
    );
  }

  const field = (
    key: keyof BackupDraft & string,
    label: string,
    hint?: ComponentChildren,
    more: Partial<Parameters<typeof BackupInput>[0]> = {},
  ) => (
    <BackupInput
      label={label}
      value={String(draft[key])}
      onValue={(value) => set({ [key]: value })}
      hint={hint}
      error={errors[FIELD_PATHS[key]]}
      {...more}
    />
  );

  return (
    <form onSubmit={submit} aria-label="Backup settings" class="backup-form" noValidate>
      <fieldset disabled={busy}>
        <legend>Schedule</legend>
        <label class="check">
          <input
            type="checkbox"
            checked={draft.enabled}
            onChange={(e) => set({ enabled: e.currentTarget.checked })}
          />
          <span>Back up on this schedule</span>
        </label>
        <BackupSelect
          label="How often"
          value={draft.every}
          onValue={(every) => set({ every })}
          options={EVERY}
          error={errors['schedule.every']}
        />
        {field(
          'at',
          'At',
          draft.every === 'hourly' ? (
            'Every hour at this time’s minutes past the hour.'
          ) : (
            <>
              In the hub’s time zone ({props.timeZone})
              {draft.every === 'weekly' ? ', once a week.' : ', every day.'}
            </>
          ),
          { type: 'time' },
        )}
      </fieldset>

      <fieldset disabled={busy}>
        <legend>How many to keep</legend>
        {field('keep', 'Backups to keep', 'The newest ones, from 1 to 1000.', {
          inputMode: 'numeric',
        })}
        {field(
          'maxAgeDays',
          'Keep for at most (days)',
          'Older backups are removed after each good one; 1 to 3650.',
          { inputMode: 'numeric' },
        )}
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Where to store them</legend>
        <Choice
          name="target"
          label="Target"
          value={draft.targetKind}
          onValue={(targetKind) => set({ targetKind })}
          options={[
            ['local', 'A folder on this machine'],
            ['s3', 'S3-compatible storage'],
          ]}
        />
        {draft.targetKind === 'local' ? (
          field(
            'path',
            'Folder',
            'A full path on the hub’s machine, like /mnt/backups/parachute; another disk is best.',
          )
        ) : (
          <>
            {field(
              'endpoint',
              'Endpoint',
              'Your provider’s S3 URL, like https://s3.amazonaws.com.',
              {
                inputMode: 'url',
              },
            )}
            {field('bucket', 'Bucket')}
            {field('region', 'Region', 'Such as us-east-1; some providers take auto.')}
            {field('prefix', 'Prefix (optional)', 'A folder inside the bucket, like parachute/.')}
            {field('accessKeyId', 'Access key ID')}
            {field(
              'secretAccessKey',
              'Secret access key',
              stored.secretKey ? 'Type a new one only to replace it.' : undefined,
              {
                type: 'password',
                autocomplete: 'new-password',
                placeholder: stored.secretKey ? STORED : undefined,
              },
            )}
          </>
        )}
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Encryption</legend>
        <Choice
          name="encryption"
          label="Encrypt with"
          value={draft.encryptionKind}
          onValue={(encryptionKind) => set({ encryptionKind })}
          options={[
            ['passphrase', 'A passphrase'],
            ['recipient', 'An age public key I keep the identity for'],
          ]}
        />
        {draft.encryptionKind === 'passphrase' ? (
          <>
            {field(
              'passphrase',
              'Passphrase',
              stored.passphrase
                ? 'Type a new one only to change it; backups already stored keep the old one.'
                : 'At least 12 characters; several random words are best.',
              {
                type: 'password',
                autocomplete: 'new-password',
                placeholder: stored.passphrase ? STORED : undefined,
              },
            )}
            {draft.passphrase !== '' &&
              field('passphraseConfirm', 'Passphrase again', undefined, {
                type: 'password',
                autocomplete: 'new-password',
              })}
            <p class="warning" role="note">
              Losing the passphrase loses the backups: nobody can decrypt them without it. Keep it
              in a password manager, not only on this server.
            </p>
          </>
        ) : (
          field(
            'recipient',
            'age recipient',
            <>
              A public key (<code>age1…</code>) from <code>age-keygen</code>; keep its identity away
              from this server, as restoring needs it. The hub adds a key of its own only to
              test-restore each backup.
            </>,
          )
        )}
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Notification (optional)</legend>
        {field(
          'webhookUrl',
          'Webhook URL',
          'The hub POSTs to it when backups start failing, go missing or recover (Slack-style webhooks show its text). Leave empty for none.',
          { inputMode: 'url' },
        )}
      </fieldset>

      <FormError message={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Checking the target…' : 'Save'}
        </button>
      </div>
      <p class="hint status-line">
        Saving first checks the target: the hub writes, reads back and deletes a small file there.
      </p>
    </form>
  );
}

/**
 * The hub words a field's problem to follow its path ("must be an absolute
 * path…"); under its field it reads as a sentence ("Must be an absolute path…").
 */
function sentences(fields: Record<string, string>): FieldErrors {
  return Object.fromEntries(
    Object.entries(fields).map(([path, message]) => {
      const text = message === 'is required' ? 'required' : message;
      return [
        path,
        `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`,
      ];
    }),
  );
}

/** Radio buttons for one of a few choices, as a group a screen reader names. */
function Choice<T extends string>(props: {
  name: string;
  label: string;
  value: T;
  onValue: (value: T) => void;
  options: [T, string][];
}) {
  return (
    <div class="backup-choice" role="radiogroup" aria-label={props.label}>
      {props.options.map(([value, label]) => (
        <label key={value} class="check">
          <input
            type="radio"
            name={props.name}
            value={value}
            checked={props.value === value}
            onChange={() => props.onValue(value)}
          />
          <span>{label}</span>
        </label>
      ))}
    </div>
  );
}

/**
 * The hub's refusal: marked fields are named once; a field the form does
 * not show (the hub may know more than this form) is said here in full.
 */
function RefusedFields({ fields, draft }: { fields: FieldErrors; draft: BackupDraft }) {
  const shown = new Set(visiblePaths(draft));
  const unshown = Object.entries(fields).filter(([path]) => !shown.has(path));
  return (
    <>
      The hub refused these settings: see the marked fields.
      {unshown.length > 0 && (
        <ul>
          {unshown.map(([path, message]) => (
            <li key={path}>
              <code>{path}</code>: {message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The hub's paths of the fields the form shows for this draft. */
function visiblePaths(draft: BackupDraft): string[] {
  const keys: (keyof BackupDraft)[] = ['every', 'at', 'keep', 'maxAgeDays', 'webhookUrl'];
  if (draft.targetKind === 'local') keys.push('path');
  else keys.push('endpoint', 'bucket', 'region', 'prefix', 'accessKeyId', 'secretAccessKey');
  if (draft.encryptionKind === 'passphrase') keys.push('passphrase', 'passphraseConfirm');
  else keys.push('recipient');
  return keys.map((key) => FIELD_PATHS[key]);
}
