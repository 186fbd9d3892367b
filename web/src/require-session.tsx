import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { AuthFrame } from './auth-frame.tsx';
import { loginUrlForHere } from './next.ts';
import { PasswordChangeRequired } from './pages/password-change-required.tsx';
import { useSession } from './session.tsx';

/**
 * Renders `children` only for a signed-in user whose password is their own.
 * Signed out: a full page load of /login (the login page is its own entry,
 * and `next` brings the user back here). No admin yet: the setup page.
 */
export function RequireSession({ children }: { children: ComponentChildren }) {
  const { state, reload } = useSession();
  const { route } = useLocation();

  useEffect(() => {
    // replace(): going back must not land on a page that bounces forward again.
    if (state.status === 'signed-out') location.replace(loginUrlForHere());
    if (state.status === 'setup-required') route('/admin/setup', true);
  }, [state.status]);

  switch (state.status) {
    case 'signed-in':
      return state.user.password_change_required ? <PasswordChangeRequired /> : children;
    case 'error':
      return (
        <AuthFrame title="Cannot reach the hub">
          <p role="alert" class="form-error">
            {state.message}
          </p>
          <button type="button" onClick={reload}>
            Try again
          </button>
        </AuthFrame>
      );
    default:
      return (
        <div class="auth-page">
          <p class="muted">Loading…</p>
        </div>
      );
  }
}
