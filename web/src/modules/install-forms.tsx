import { useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { Field, FormError, useAction } from '../forms.tsx';
import { type Operation, OperationProgress } from './operation-progress.tsx';

/** What POST /api/modules/upload takes (modules/upload.ts). */
export const UPLOAD_LIMIT = 50 * 1024 * 1024;

/**
 * Install from an npm name or a folder or .tgz on the hub's machine, or
 * from a .tgz uploaded from this browser; the install's output streams
 * below. `onInstalled` runs when one ended well.
 */
export function InstallForms(props: { onInstalled: (op: Operation) => void }) {
  const [progress, setProgress] = useState<{ id: string; title: string }>();
  const ended = (op: Operation) => {
    if (op.state === 'succeeded') props.onInstalled(op);
  };
  return (
    <>
      <PackageForm onStarted={setProgress} />
      <UploadForm onStarted={setProgress} />
      {progress && (
        <OperationProgress
          key={progress.id}
          id={progress.id}
          title={progress.title}
          onDone={(op) => ended(op)}
        />
      )}
    </>
  );
}

type Started = (progress: { id: string; title: string }) => void;

function PackageForm(props: { onStarted: Started }) {
  const [spec, setSpec] = useState('');
  const [manifest, setManifest] = useState('');
  const [manifestError, setManifestError] = useState<string>();
  const { busy, error, run } = useAction();
  const manifestId = useId();
  function submit(event: Event) {
    event.preventDefault();
    let parsed: unknown;
    if (manifest.trim() !== '') {
      try {
        parsed = JSON.parse(manifest);
      } catch (caught) {
        setManifestError(`Not valid JSON: ${(caught as Error).message}`);
        return;
      }
    }
    setManifestError(undefined);
    void run(
      async () => {
        const started = await api<{ operation_id: string }>('POST', '/api/modules/install', {
          package: spec.trim(),
          ...(parsed === undefined ? {} : { manifest: parsed }),
        });
        props.onStarted({ id: started.operation_id, title: `Installing ${spec.trim()}` });
        setSpec('');
        setManifest('');
      },
      (caught) => `Could not install ${spec}: ${describeError(caught)}`,
    );
  }
  return (
    <form onSubmit={submit} aria-label="Install a module">
      <Field
        label="Package"
        value={spec}
        onValue={setSpec}
        hint="An npm name (name@1.2.3), or a folder or .tgz on the hub’s machine."
      />
      <details>
        <summary>For a package that ships no module.json</summary>
        <div class="field">
          <label for={manifestId}>module.json</label>
          <textarea
            id={manifestId}
            rows={6}
            value={manifest}
            spellcheck={false}
            aria-invalid={manifestError ? 'true' : undefined}
            onInput={(e) => setManifest(e.currentTarget.value)}
            placeholder={'{ "name": "…", "port": 1950, "paths": ["/…"], "health": "/health" }'}
          />
          <FormError message={manifestError} />
        </div>
      </details>
      <FormError message={error} />
      <div class="actions">
        <button type="submit" disabled={busy || spec.trim() === ''}>
          {busy ? 'Installing…' : 'Install'}
        </button>
      </div>
    </form>
  );
}

function UploadForm(props: { onStarted: Started }) {
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
        const started = await api<{ operation_id: string }>('POST', '/api/modules/upload', file);
        props.onStarted({ id: started.operation_id, title: `Installing ${file.name}` });
      },
      (caught) => `Could not upload ${file.name}: ${describeError(caught)}`,
    );
  }
  return (
    <form onSubmit={submit} aria-label="Upload a module">
      <div class="field">
        <label for={id}>Or upload a .tgz</label>
        <input
          id={id}
          type="file"
          accept=".tgz,application/gzip,application/x-gzip"
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
        <p class="hint">A package tarball from `npm pack`, at most {mb(UPLOAD_LIMIT)}.</p>
      </div>
      <FormError message={error} />
      <div class="actions">
        <button type="submit" class="secondary" disabled={busy || !file}>
          {busy ? 'Uploading…' : 'Upload and install'}
        </button>
      </div>
    </form>
  );
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;
}
