import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { ScheduledBackups } from '../backup/scheduled-backups.tsx';
import { FormError, useAction } from '../forms.tsx';
import { useUser } from '../session.tsx';

/**
 * /admin/backup (admins): scheduled, encrypted, test-restored backups; a
 * download of the whole hub as one file; and how to restore it.
 */
export function Backup() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Backup</h1>
        <p class="muted">Only admins can export the hub.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Backup</h1>
      <ScheduledBackups />
      <ExportSection />
      <ImportSection />
    </section>
  );
}

const MB = 1024 * 1024;
const size = (bytes: number) =>
  bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;

function ExportSection() {
  const { busy, error, run } = useAction();
  const [progress, setProgress] = useState<string>();
  const [done, setDone] = useState<string>();

  function download() {
    setDone(undefined);
    void run(
      async () => {
        setProgress('Making a consistent snapshot…');
        // The session cookie goes along; a GET needs no CSRF header.
        const res = await fetch('/api/hub/export', { credentials: 'same-origin' });
        if (!res.ok || !res.body) {
          const body = (await res.json().catch(() => ({}))) as { error_description?: string };
          throw new ApiError(res.status, `http_${res.status}`, body.error_description);
        }
        const name =
          /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ??
          'parachute-export.tar.gz';
        const chunks: Uint8Array[] = [];
        let received = 0;
        const reader = res.body.getReader();
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          chunks.push(value);
          received += value.byteLength;
          setProgress(`Downloading… ${size(received)}`);
        }
        const link = document.createElement('a');
        link.href = URL.createObjectURL(
          new Blob(chunks as BlobPart[], { type: 'application/gzip' }),
        );
        link.download = name;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
        setDone(`Saved ${name} (${size(received)}).`);
      },
      (caught) =>
        caught instanceof ApiError && caught.description
          ? caught.description
          : `The export failed: ${(caught as Error).message}. Try again; see Logs if it keeps failing.`,
    ).finally(() => setProgress(undefined));
  }

  return (
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p>
        One file holds the whole hub: accounts, connected apps and their grants, signing keys,
        modules with their settings and data. The hub keeps running while it is made.
      </p>
      <p class="warning" role="note">
        It contains password hashes, keys and module secrets: keep it as private as the server.
      </p>
      <FormError message={error} />
      <div class="actions">
        <button type="button" onClick={download} disabled={busy} aria-describedby="export-status">
          {busy ? 'Exporting…' : 'Download export'}
        </button>
      </div>
      <p id="export-status" class="hint status-line" role="status" aria-live="polite">
        {progress ?? done ?? ''}
      </p>
    </section>
  );
}

function ImportSection() {
  return (
    <section aria-labelledby="import-heading">
      <h2 id="import-heading">Restore on a new host</h2>
      <ol>
        <li>Install parachute on the new host; do not start it.</li>
        <li>
          Copy the file there and run <code>parachute import parachute-export-….tar.gz</code>. It
          goes into an empty <code>PARACHUTE_HOME</code> (set it to choose another folder) and
          checks every file first: a damaged or edited export is refused and nothing is written.
        </li>
        <li>
          Start the hub (<code>parachute serve</code>, or <code>parachute init</code> for a
          service). Sign in with the same password; modules start on their restored data.
        </li>
        <li>Stop the old hub once the new one answers, so only one of them holds the data.</li>
      </ol>
      <p class="hint">
        From a shell on the hub's host, <code>parachute export -o file.tar.gz</code> makes the same
        file.
      </p>
    </section>
  );
}
