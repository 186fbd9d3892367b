import { useState } from 'preact/hooks';
import { api, describeError } from './api.ts';
import { Field, FormError, useAction } from './forms.tsx';

/** Turning two-factor off asks for the password again, so an unattended session cannot do it. */
export function TotpDisable(props: { onDisabled: () => void }) {
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();

  function submit(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        await api('POST', '/api/account/totp/disable', { password });
        props.onDisabled();
      },
      (caught) => describeError(caught, { invalid_credentials: 'Wrong password.' }),
    );
  }

  return (
    <form onSubmit={submit}>
      <p>On. Signing in needs a code from your authenticator app or a backup code.</p>
      <Field
        label="Password"
        type="password"
        value={password}
        onValue={setPassword}
        autocomplete="current-password"
        hint="Enter your password to turn two-factor authentication off."
      />
      <FormError message={error} />
      <button type="submit" class="danger" disabled={busy}>
        {busy ? 'Disabling…' : 'Disable'}
      </button>
    </form>
  );
}
