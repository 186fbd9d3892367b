import { useState } from 'preact/hooks';
import { ActiveSessions } from '../active-sessions.tsx';
import { BackupCodesRenew } from '../backup-codes-renew.tsx';
import { ChangePasswordForm } from '../change-password-form.tsx';
import { useUser } from '../session.tsx';
import { TwoFactor } from '../two-factor.tsx';

/** /admin/account: who is signed in, their password, their second factor and their sessions. */
export function Account() {
  const user = useUser();
  const [changed, setChanged] = useState(false);
  return (
    <section>
      <h1>Account</h1>
      <dl class="facts">
        <dt>Username</dt>
        <dd data-testid="account-username">{user.username}</dd>
        <dt>Role</dt>
        <dd>{user.role}</dd>
      </dl>
      <section aria-labelledby="password-heading">
        <h2 id="password-heading">Password</h2>
        {changed && <p role="status">Your password has been changed.</p>}
        <ChangePasswordForm onChanged={() => setChanged(true)} />
      </section>
      <TwoFactor />
      <BackupCodesRenew />
      <ActiveSessions />
    </section>
  );
}
