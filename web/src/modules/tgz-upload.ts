import { useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { useAction } from '../forms.tsx';

/** The hub's upload limit (POST /api/modules/upload), checked here first to say so at once. */
export const UPLOAD_LIMIT = 50 * 1024 * 1024;

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;
}

/**
 * A .tgz chosen in the page and sent to `path` (an install, or an upgrade
 * with `?upgrade=`): the file field's state, the size check, the upload,
 * and the operation it started, handed to `onStarted` with `title`.
 */
export function useTgzUpload(
  path: string,
  title: (file: File) => string,
  onStarted: (progress: { id: string; title: string }) => void,
) {
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
        const started = await api<{ operation_id: string }>('POST', path, file);
        onStarted({ id: started.operation_id, title: title(file) });
      },
      (caught) => `Could not upload ${file.name}: ${describeError(caught)}`,
    );
  }
  return { id, file, setFile, busy, error, submit };
}
