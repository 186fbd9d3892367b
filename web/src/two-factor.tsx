import { useState } from 'preact/hooks';
import { BackupCodes } from './backup-codes.tsx';
import { useSession, useUser } from './session.tsx';
import { TotpDisable } from './totp-disable.tsx';
import { TotpEnable } from './totp-enable.tsx';

/** The account page's two-factor section: enable, show backup codes once, or disable. */
export function TwoFactor() {
  const user = useUser();
  const { setUser } = useSession();
  const [backupCodes, setBackupCodes] = useState<string[]>();

  return (
    <section aria-labelledby="two-factor-heading">
      <h2 id="two-factor-heading">Two-factor authentication</h2>
      {backupCodes ? (
        <BackupCodes codes={backupCodes} onDone={() => setBackupCodes(undefined)} />
      ) : user.totp_enabled ? (
        <TotpDisable onDisabled={() => setUser({ ...user, totp_enabled: false })} />
      ) : (
        <TotpEnable
          onEnabled={(codes) => {
            setBackupCodes(codes);
            setUser({ ...user, totp_enabled: true });
          }}
        />
      )}
    </section>
  );
}
