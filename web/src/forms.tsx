import type { ComponentChildren, TargetedInputEvent } from 'preact';
import { useId, useState } from 'preact/hooks';

interface FieldProps {
  label: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'password';
  autocomplete?: string;
  /** Shown under the input and read out with it. */
  hint?: ComponentChildren;
  invalid?: boolean;
  autofocus?: boolean;
  required?: boolean;
  /** The id of a <datalist> of suggestions. */
  list?: string;
}

/** One labelled input; the label is a real <label for> so screen readers and tests find it. */
export function Field(props: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const attributes = {
    id,
    value: props.value,
    onInput: (event: TargetedInputEvent<HTMLInputElement>) =>
      props.onValue(event.currentTarget.value),
    autocomplete: props.autocomplete,
    autofocus: props.autofocus,
    required: props.required ?? true,
    list: props.list,
    'aria-invalid': props.invalid ? ('true' as const) : undefined,
    'aria-describedby': props.hint ? hintId : undefined,
    spellcheck: false,
    autocapitalize: 'off' as const,
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {/* Two literal types, not type={…}: Preact types each <input type> separately. */}
      {props.type === 'password' ? (
        <input type="password" {...attributes} />
      ) : (
        <input type="text" {...attributes} />
      )}
      {props.hint && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** Why the last submit failed; role=alert so it is announced when it appears. */
export function FormError({ message }: { message?: ComponentChildren }) {
  if (!message) return null;
  return (
    <div class="form-error" role="alert">
      {message}
    </div>
  );
}

/**
 * Runs one request at a time for a form: `busy` disables its buttons so a
 * double click cannot send twice, and `error` holds what to tell the user.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ComponentChildren>();
  async function run(action: () => Promise<void>, describe: (error: unknown) => ComponentChildren) {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}
