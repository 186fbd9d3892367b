import { AuthFrame } from '../auth-frame.tsx';
import { ChangePasswordForm } from '../change-password-form.tsx';
import { useSession, useUser } from '../session.tsx';
import { SignOutButton } from '../sign-out-button.tsx';

/**
 * Shown instead of every admin page while the account still has a temporary
 * password (one an admin set, or the one it was created with).
 */
export function PasswordChangeRequired() {
  const user = useUser();
  const { setUser } = useSession();
  return (
    <AuthFrame title="Choose a new password">
      <p>
        Signed in as <strong>{user.username}</strong> with a temporary password. Choose your own
        password before you continue.
      </p>
      <ChangePasswordForm
        submitLabel="Set new password"
        onChanged={() => setUser({ ...user, password_change_required: false })}
      />
      <div class="auth-footer">
        <SignOutButton />
      </div>
    </AuthFrame>
  );
}
