import { useId, useState } from 'preact/hooks';

/** A temporary password, shown once: the hub keeps only its hash. */
export function OneTimePassword(props: { username: string; password: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  const boxId = useId();
  function copy() {
    navigator.clipboard.writeText(props.password).then(
      () => setCopied('Copied.'),
      () => setCopied('Could not copy: select the password and copy it yourself.'),
    );
  }
  return (
    <div class="notice-box new-token" role="status" aria-label="Temporary password">
      <p>
        <strong>Copy this password now: you will not see it again.</strong> Give it to{' '}
        <strong>{props.username}</strong>; they must choose their own when they sign in.
      </p>
      <label for={boxId} class="block-label">
        Temporary password for {props.username}
      </label>
      <input
        id={boxId}
        type="text"
        class="secret token-box"
        readOnly
        spellcheck={false}
        data-testid="temporary-password"
        value={props.password}
        onFocus={(e) => e.currentTarget.select()}
      />
      <div class="actions">
        <button type="button" class="small" onClick={copy}>
          Copy
        </button>
        <button type="button" class="secondary small" onClick={props.onDone}>
          Done
        </button>
        {copied && <span class="muted">{copied}</span>}
      </div>
    </div>
  );
}
