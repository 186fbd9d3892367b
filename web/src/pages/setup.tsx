import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError, api, describeError } from '../api.ts';
import { AuthFrame } from '../auth-frame.tsx';
import { Field, FormError, useAction } from '../forms.tsx';
import { NewPasswordFields } from '../new-password-fields.tsx';
import { acceptNewPassword } from '../password-policy.ts';
import { type User, useSession } from '../session.tsx';

/**
 * First run: whoever can read the hub's log proves it with the bootstrap
 * token and creates the first admin account.
 */
export function Setup() {
  const { route } = useLocation();
  const { setUser } = useSession();
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [invalid, setInvalid] = useState<'password' | 'confirm'>();
  const { busy, error, setError, run } = useAction();

  // A hub that already has an admin has nothing to set up: sign in instead.
  useEffect(() => {
    api<{ setup_required: boolean }>('GET', '/api/setup')
      .then(({ setup_required }) => {
        if (!setup_required) route('/login', true);
      })
      .catch(() => {
        // Submitting will say what is wrong; the form stays usable.
      });
  }, []);

  function submit(event: Event) {
    event.preventDefault();
    if (!acceptNewPassword(password, confirm, setInvalid, setError)) return;
    void run(
      async () => {
        const { user } = await api<{ user: User }>('POST', '/api/setup', {
          bootstrap_token: token.trim(),
          username: username.trim(),
          password,
        });
        setUser(user);
        route('/admin/');
      },
      (caught) => {
        if (caught instanceof ApiError && caught.error === 'already_set_up') {
          return (
            <>
              This hub is already set up. <a href="/login">Sign in</a> instead.
            </>
          );
        }
        return describeError(caught, {
          invalid_bootstrap_token:
            'That bootstrap token is not valid. Copy it again from the hub’s log; a new one is printed each time the hub starts.',
        });
      },
    );
  }

  return (
    <AuthFrame title="Set up your hub">
      <p>Create the first administrator account.</p>
      <form onSubmit={submit}>
        <Field
          label="Bootstrap token"
          value={token}
          onValue={setToken}
          autocomplete="off"
          autofocus
          hint={
            <>
              The hub prints it in its log as <code>parachute-bootstrap-…</code>, for example:{' '}
              <code>journalctl -u parachute | grep parachute-bootstrap-</code>
            </>
          }
        />
        <Field label="Username" value={username} onValue={setUsername} autocomplete="username" />
        <NewPasswordFields
          password={password}
          confirm={confirm}
          onPassword={setPassword}
          onConfirm={setConfirm}
          invalid={invalid}
          labels={{ password: 'Password', confirm: 'Confirm password' }}
        />
        <FormError message={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating account…' : 'Create admin account'}
        </button>
      </form>
    </AuthFrame>
  );
}
