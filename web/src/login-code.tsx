import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from './api.ts';
import { Field, FormError, useAction } from './forms.tsx';
import type { User } from './session.tsx';

/** Sign-in step two, for accounts with two-factor authentication: a code from the app. */
export function LoginCode(props: {
  challenge: string;
  onUser: (user: User) => void;
  /** The challenge from step one ran out: the password has to be entered again. */
  onExpired: () => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState('');
  const { busy, error, run } = useAction();

  function submit(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        try {
          const { user } = await api<{ user: User }>('POST', '/api/auth/login/totp', {
            challenge: props.challenge,
            // Codes are often pasted as "123 456".
            code: code.replace(/\s+/g, ''),
          });
          props.onUser(user);
        } catch (caught) {
          if (caught instanceof ApiError && caught.error === 'challenge_expired') {
            props.onExpired();
            return;
          }
          setCode('');
          throw caught;
        }
      },
      (caught) =>
        describeError(caught, {
          invalid_code:
            'That code is not valid. Enter the current code from your app, or a backup code.',
        }),
    );
  }

  return (
    <form onSubmit={submit}>
      <p>Open your authenticator app and enter the code it shows for this hub.</p>
      <Field
        label="Authentication code"
        value={code}
        onValue={setCode}
        autocomplete="one-time-code"
        autofocus
        hint="6 digits from the app, or one of your backup codes."
      />
      <FormError message={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Verify'}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>
          Back
        </button>
      </div>
    </form>
  );
}
