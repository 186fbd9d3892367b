import type { TargetedEvent } from 'preact';

/**
 * Checkboxes for the vaults an app asked for with the broad `vault:<verb>`.
 * Existing vaults refuse that broad form (auth.md §5), so the user names the
 * vaults; each picked vault is granted every requested verb.
 */
export function VaultPicker(props: {
  verbs: string[];
  vaults: string[];
  picked: string[];
  onPicked: (picked: string[]) => void;
  disabled?: boolean;
  invalid?: boolean;
}) {
  function toggle(vault: string, event: TargetedEvent<HTMLInputElement>) {
    const on = event.currentTarget.checked;
    // Keep the vaults' own order, whatever order they were clicked in.
    props.onPicked(props.vaults.filter((v) => (v === vault ? on : props.picked.includes(v))));
  }
  return (
    <fieldset class="vault-picker" aria-invalid={props.invalid ? 'true' : undefined}>
      <legend>Which vaults may it {verbList(props.verbs)}?</legend>
      {props.vaults.length === 0 && <p class="muted">You have no vaults it could use.</p>}
      {props.vaults.map((vault) => (
        <label key={vault} class="check">
          <input
            type="checkbox"
            checked={props.picked.includes(vault)}
            disabled={props.disabled}
            onChange={(event) => toggle(vault, event)}
          />
          <span>
            {vault}{' '}
            <span class="muted">
              ({props.verbs.map((verb) => `vault:${vault}:${verb}`).join(', ')})
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

const VERB_WORDS: Record<string, string> = { read: 'read', write: 'change', admin: 'manage' };

// "read", "read and change", "read, change and manage".
function verbList(verbs: string[]): string {
  const words = verbs.map((verb) => VERB_WORDS[verb] ?? verb);
  if (words.length <= 1) return words[0] ?? 'use';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
