import { ApiError, api, describeError } from './api.ts';
import { useAction } from './forms.tsx';

/** Ends the session on the hub, then loads /login afresh so no state of the old session lingers. */
export function SignOutButton() {
  const { busy, error, run } = useAction();
  function signOut() {
    void run(
      async () => {
        try {
          await api('POST', '/api/auth/logout');
        } catch (caught) {
          // Already signed out (expired session): the goal is reached anyway.
          if (!(caught instanceof ApiError && caught.status === 401)) throw caught;
        }
        location.assign('/login');
      },
      (caught) => `Could not sign out: ${describeError(caught)}`,
    );
  }
  return (
    <>
      {error && (
        <span class="form-error inline" role="alert">
          {error}
        </span>
      )}
      <button type="button" class="secondary small" disabled={busy} onClick={signOut}>
        Sign out
      </button>
    </>
  );
}
