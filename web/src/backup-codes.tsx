/** Backup codes, shown once when two-factor is turned on or they are renewed; the hub keeps only hashes. */
export function BackupCodes(props: { codes: string[]; onDone: () => void; title?: string }) {
  return (
    <div class="notice-box">
      <p role="status">
        <strong>
          {props.title ?? 'Two-factor authentication is on. Save these backup codes now.'}
        </strong>
      </p>
      <p>
        Each code signs you in once if you lose your phone. They will not be shown again: copy them
        into your password manager or print them.
      </p>
      {/* One <pre> so a single selection copies every code, one per line. */}
      <pre class="backup-codes" data-testid="backup-codes">
        {props.codes.join('\n')}
      </pre>
      <button type="button" onClick={props.onDone}>
        I have saved them
      </button>
    </div>
  );
}
