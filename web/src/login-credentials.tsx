import { useState } from 'preact/hooks';
import { api, describeError } from './api.ts';
import { Field, FormError, useAction } from './forms.tsx';
import type { User } from './session.tsx';

export type LoginAnswer = { user: User } | { two_factor_required: true; challenge: string };

/** Sign-in step one: username and password. */
export function LoginCredentials(props: {
  notice?: string;
  onAnswer: (answer: LoginAnswer) => void;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();

  function submit(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        props.onAnswer(
          await api<LoginAnswer>('POST', '/api/auth/login', {
            username: username.trim(),
            password,
          }),
        );
      },
      (caught) => describeError(caught, { invalid_credentials: 'Wrong username or password.' }),
    );
  }

  return (
    <form onSubmit={submit}>
      {props.notice && !error && <p class="notice">{props.notice}</p>}
      <Field
        label="Username"
        value={username}
        onValue={setUsername}
        autocomplete="username"
        autofocus
      />
      <Field
        label="Password"
        type="password"
        value={password}
        onValue={setPassword}
        autocomplete="current-password"
      />
      <FormError message={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
