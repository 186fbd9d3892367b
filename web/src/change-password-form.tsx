import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from './api.ts';
import { Field, FormError, useAction } from './forms.tsx';
import { NewPasswordFields } from './new-password-fields.tsx';
import { acceptNewPassword } from './password-policy.ts';

/** Current password plus the new one twice; used on the account page and when a change is forced. */
export function ChangePasswordForm(props: { onChanged: () => void; submitLabel?: string }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [invalid, setInvalid] = useState<'current' | 'password' | 'confirm'>();
  const { busy, error, setError, run } = useAction();

  function submit(event: Event) {
    event.preventDefault();
    if (!acceptNewPassword(next, confirm, setInvalid, setError)) return;
    void run(
      async () => {
        await api('POST', '/api/account/password', {
          current_password: current,
          new_password: next,
        });
        setCurrent('');
        setNext('');
        setConfirm('');
        props.onChanged();
      },
      (caught) => {
        const wrongCurrent = caught instanceof ApiError && caught.error === 'invalid_credentials';
        setInvalid(wrongCurrent ? 'current' : undefined);
        return describeError(caught, {
          invalid_credentials: 'Your current password is wrong.',
        });
      },
    );
  }

  return (
    <form onSubmit={submit}>
      <Field
        label="Current password"
        type="password"
        value={current}
        onValue={setCurrent}
        autocomplete="current-password"
        invalid={invalid === 'current'}
      />
      <NewPasswordFields
        password={next}
        confirm={confirm}
        onPassword={setNext}
        onConfirm={setConfirm}
        invalid={invalid}
      />
      <FormError message={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Saving…' : (props.submitLabel ?? 'Change password')}
      </button>
    </form>
  );
}
