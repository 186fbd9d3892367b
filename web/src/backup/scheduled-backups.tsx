import { useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { FormError, useAction } from '../forms.tsx';
import { BackupRuns } from './backup-runs.tsx';
import { BackupSettings } from './backup-settings.tsx';
import { BackupStatusSummary } from './backup-status.tsx';
import { useBackups } from './use-backups.ts';

/**
 * Scheduled backups on the Backup screen: where they stand, "Back up now",
 * the last runs (followed live while one runs) and the settings.
 */
export function ScheduledBackups() {
  const backups = useBackups();
  const { busy, error, run } = useAction();
  // The form starts from the stored settings; a new key starts it afresh
  // after a save or turning off, never while a poll brings news.
  const [formKey, setFormKey] = useState(0);
  const [saved, setSaved] = useState('');
  const data = backups.data;

  async function afterChange(said: string) {
    await backups.reload();
    setFormKey((k) => k + 1);
    setSaved(said);
  }
  function backUpNow() {
    void run(
      async () => {
        await api('POST', '/api/hub/backups/run');
        await backups.reload();
      },
      (caught) =>
        describeError(caught, {
          backup_running: 'A backup is running already: it shows below.',
          backups_not_configured: 'Save the settings below first.',
        }),
    );
  }
  function turnOff() {
    void run(
      async () => {
        await api('DELETE', '/api/hub/backups/config');
        await afterChange('Scheduled backups are off.');
      },
      (caught) => `Could not turn scheduled backups off: ${describeError(caught)}`,
    );
  }

  return (
    <section aria-labelledby="scheduled-heading">
      <h2 id="scheduled-heading">Scheduled backups</h2>
      <p>
        The hub backs itself up on a schedule, encrypted, to a folder or S3-compatible storage, and
        test-restores every backup to prove it can be read back.
      </p>
      <FormError message={backups.error} />
      {!data ? (
        !backups.error && <p class="muted">Loading…</p>
      ) : (
        <>
          <BackupStatusSummary status={data.status} configured={data.config !== null} />
          <FormError message={error} />
          {data.config && (
            <div class="actions backup-actions">
              <button
                type="button"
                onClick={backUpNow}
                disabled={busy || data.status.state === 'running'}
              >
                Back up now
              </button>
              <ConfirmButton
                label="Turn off"
                question="Stop backing up and forget the target’s credentials and the passphrase? Stored backups stay where they are."
                disabled={busy}
                onConfirm={turnOff}
              />
            </div>
          )}
          <h3>Recent backups</h3>
          <BackupRuns runs={data.runs} />
          <h3>{data.config ? 'Settings' : 'Set up'}</h3>
          <p class="hint status-line" role="status">
            {saved}
          </p>
          <BackupSettings
            key={formKey}
            config={data.config}
            timeZone={data.time_zone}
            onSaved={() => afterChange('Saved: the target took a test file and gave it back.')}
          />
        </>
      )}
    </section>
  );
}
