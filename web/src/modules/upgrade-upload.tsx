import { useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { FormError, useAction } from '../forms.tsx';
import { mb, UPLOAD_LIMIT } from './install-forms.tsx';

/**
 * Upgrade a module from a newer .tgz of its package uploaded from this
 * browser (POST /api/modules/upload?upgrade=): the way to upgrade a module
 * that was installed from an upload. The hub refuses another package.
 */
export function UpgradeUpload(props: {
  name: string;
  label: string;
  onStarted: (progress: { id: string; title: string }) => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const { busy, error, setError, run } = useAction();
  const id = useId();
  function submit(event: Event) {
    event.preventDefault();
    if (!file) return;
    if (file.size > UPLOAD_LIMIT) {
      setError(`${file.name} is ${mb(file.size)}; an upload may be at most ${mb(UPLOAD_LIMIT)}.`);
      return;
    }
    void run(
      async () => {
        const started = await api<{ operation_id: string }>(
          'POST',
          `/api/modules/upload?upgrade=${encodeURIComponent(props.name)}`,
          file,
        );
        props.onStarted({ id: started.operation_id, title: `Upgrading ${props.label}` });
      },
      (caught) => `Could not upload ${file.name}: ${describeError(caught)}`,
    );
  }
  return (
    <details class="upgrade-upload">
      <summary>Upgrade from a .tgz</summary>
      <form onSubmit={submit} aria-label={`Upgrade ${props.label} from a .tgz`}>
        <div class="field">
          <label for={id}>Newer version (.tgz)</label>
          <input
            id={id}
            type="file"
            accept=".tgz,application/gzip,application/x-gzip"
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
          <p class="hint">
            The same package, from `npm pack`, at most {mb(UPLOAD_LIMIT)}. Its data and settings
            stay.
          </p>
        </div>
        <FormError message={error} />
        <div class="actions">
          <button type="submit" class="secondary small" disabled={busy || !file}>
            {busy ? 'Uploading…' : 'Upload and upgrade'}
          </button>
        </div>
      </form>
    </details>
  );
}
