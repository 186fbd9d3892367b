import { Field } from './forms.tsx';
import { PASSWORD_HINT } from './password-policy.ts';

/** A new password typed twice, with the policy hint; used by setup and every password change. */
export function NewPasswordFields(props: {
  password: string;
  confirm: string;
  onPassword: (value: string) => void;
  onConfirm: (value: string) => void;
  /** Which of the two the last check found wrong. */
  invalid?: 'password' | 'confirm' | string;
  labels?: { password: string; confirm: string };
}) {
  const labels = props.labels ?? { password: 'New password', confirm: 'Confirm new password' };
  return (
    <>
      <Field
        label={labels.password}
        type="password"
        value={props.password}
        onValue={props.onPassword}
        autocomplete="new-password"
        invalid={props.invalid === 'password'}
        hint={PASSWORD_HINT}
      />
      <Field
        label={labels.confirm}
        type="password"
        value={props.confirm}
        onValue={props.onConfirm}
        autocomplete="new-password"
        invalid={props.invalid === 'confirm'}
      />
    </>
  );
}
