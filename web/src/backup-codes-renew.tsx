import { useState } from 'preact/hooks';
import { api, describeError } from './api.ts';
import { BackupCodes } from './backup-codes.tsx';
import { Field, FormError, useAction } from './forms.tsx';
import { useUser } from './session.tsx';

/**
 * The account page's "Backup codes" section, while two-factor is on: new
 * codes for lost or used-up ones (the old ones stop working), shown once.
 * The password is asked again, as for turning two-factor off.
 */
export function BackupCodesRenew() {
  const user = useUser();
  const [password, setPassword] = useState('');
  const [codes, setCodes] = useState<string[]>();
  const { busy, error, run } = useAction();
  if (!user.totp_enabled) return null;

  function submit(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        const answer = await api<{ backup_codes: string[] }>(
          'POST',
          '/api/account/totp/backup-codes',
          { password },
        );
        setPassword('');
        setCodes(answer.backup_codes);
      },
      (caught) => describeError(caught, { invalid_credentials: 'Wrong password.' }),
    );
  }

  return (
    <section aria-labelledby="backup-codes-heading">
      <h2 id="backup-codes-heading">Backup codes</h2>
      {codes ? (
        <BackupCodes
          title="New backup codes. Save them now: the old ones no longer work."
          codes={codes}
          onDone={() => setCodes(undefined)}
        />
      ) : (
        <form onSubmit={submit} aria-label="New backup codes">
          <Field
            label="Password"
            type="password"
            value={password}
            onValue={setPassword}
            autocomplete="current-password"
            hint="Lost or used up your backup codes? New ones replace them all."
          />
          <FormError message={error} />
          <button type="submit" class="secondary" disabled={busy}>
            {busy ? 'Making new codes…' : 'New backup codes'}
          </button>
        </form>
      )}
    </section>
  );
}
