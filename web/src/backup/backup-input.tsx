import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

/**
 * A labelled input with its hint and, when wrong, what is wrong (read out
 * with it, and shown above the hint so it is seen first).
 */
export function BackupInput(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  error?: string;
  type?: 'text' | 'password' | 'time';
  inputMode?: 'numeric' | 'url';
  placeholder?: string;
  autocomplete?: string;
}) {
  const id = useId();
  const described = [props.error && `${id}-error`, props.hint && `${id}-hint`]
    .filter(Boolean)
    .join(' ');
  const attributes = {
    id,
    value: props.value,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.onValue(e.currentTarget.value),
    inputMode: props.inputMode,
    placeholder: props.placeholder,
    autocomplete: props.autocomplete ?? 'off',
    spellcheck: false,
    autocapitalize: 'off' as const,
    'aria-invalid': props.error ? ('true' as const) : undefined,
    'aria-describedby': described || undefined,
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {/* Literal types, not type={…}: Preact types each <input type> separately. */}
      {props.type === 'password' ? (
        <input type="password" {...attributes} />
      ) : props.type === 'time' ? (
        <input type="time" {...attributes} />
      ) : (
        <input type="text" {...attributes} />
      )}
      {props.error && (
        <p class="hint error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** A labelled <select> of a few fixed choices. */
export function BackupSelect<T extends string>(props: {
  label: string;
  value: T;
  onValue: (value: T) => void;
  options: [T, string][];
  error?: string;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onChange={(e) => props.onValue(e.currentTarget.value as T)}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      {props.error && (
        <p class="hint error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}
