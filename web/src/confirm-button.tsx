import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

/**
 * A button for something that cannot be undone: the first click only asks,
 * in words next to it, and a second button does it. Inline rather than
 * window.confirm(), which a browser may suppress and screen readers announce poorly.
 */
export function ConfirmButton(props: {
  label: string;
  /** What will happen, asked as a question. */
  question: ComponentChildren;
  confirmLabel?: string;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class="secondary small"
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <span>{props.question}</span>
      <button
        type="button"
        class="danger small"
        disabled={props.disabled}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.confirmLabel ?? `Yes, ${props.label.toLowerCase()}`}
      </button>
      <button type="button" class="secondary small" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
