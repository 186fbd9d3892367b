import { FormError } from '../forms.tsx';
import { mb, UPLOAD_LIMIT, useTgzUpload } from './tgz-upload.ts';

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
  const { id, file, setFile, busy, error, submit } = useTgzUpload(
    `/api/modules/upload?upgrade=${encodeURIComponent(props.name)}`,
    () => `Upgrading ${props.label}`,
    props.onStarted,
  );
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
