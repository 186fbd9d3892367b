import { useId, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api.ts';
import { Field, FormError, useAction } from '../forms.tsx';
import {
  draftErrors,
  draftFor,
  type FieldErrors,
  type ManifestDraft,
  ManifestFields,
  manifestOf,
} from './manifest-form.tsx';
import { type Operation, OperationProgress } from './operation-progress.tsx';
import { mb, UPLOAD_LIMIT, useTgzUpload } from './tgz-upload.ts';

/** What POST /api/modules/upload takes (modules/upload.ts). */

/**
 * Install from an npm name or a folder or .tgz on the hub's machine, or
 * from a .tgz uploaded from this browser; the install's output streams
 * below. `onInstalled` runs when one ended well.
 */
export function InstallForms(props: { onInstalled: (op: Operation) => void }) {
  const [progress, setProgress] = useState<Progress>();
  // The package the hub said ships no module.json: the form asks for one, prefilled.
  const [missing, setMissing] = useState<string>();
  const [uploadMissing, setUploadMissing] = useState(false);
  const ended = (op: Operation) => {
    setUploadMissing(false);
    if (op.state === 'succeeded') {
      props.onInstalled(op);
      setMissing(undefined);
    }
    if (op.error_code !== 'no_manifest') return;
    // An upload is gone once its install failed, and takes no manifest: say what to do instead.
    if (progress?.spec === undefined) setUploadMissing(true);
    else setMissing(progress.spec);
  };
  return (
    <>
      <PackageForm key={missing} missing={missing} onStarted={setProgress} />
      <UploadForm onStarted={setProgress} />
      {progress && (
        <OperationProgress
          key={progress.id}
          id={progress.id}
          title={progress.title}
          onDone={(op) => ended(op)}
        />
      )}
      {uploadMissing && (
        <p class="notice" role="status">
          An uploaded .tgz cannot be given a module.json here: put it on the hub’s machine and
          install it by its path above, where the hub asks for one.
        </p>
      )}
    </>
  );
}

/** A started install; `spec` is the package form's, absent for an upload. */
type Progress = { id: string; title: string; spec?: string };
type Started = (progress: Progress) => void;

function PackageForm(props: { onStarted: Started; missing?: string }) {
  const [spec, setSpec] = useState(props.missing ?? '');
  // The manifest form shows when asked, or when the hub said the package ships none.
  const [withManifest, setWithManifest] = useState(props.missing !== undefined);
  const [draft, setDraft] = useState<ManifestDraft>(() => draftFor(props.missing ?? ''));
  const [edited, setEdited] = useState(false);
  const [showOwnErrors, setShowOwnErrors] = useState(false);
  const [hubErrors, setHubErrors] = useState<FieldErrors>({});
  const [advanced, setAdvanced] = useState(false);
  const [raw, setRaw] = useState('');
  const [rawError, setRawError] = useState<string>();
  const { busy, error, setError, run } = useAction();
  const rawId = useId();
  const errors = { ...(showOwnErrors ? draftErrors(draft) : {}), ...hubErrors };

  function changeSpec(value: string) {
    setSpec(value);
    // Defaults follow the package name until a field is changed by hand.
    if (!edited) setDraft(draftFor(value));
  }
  function changeDraft(next: ManifestDraft) {
    // A field changed by hand is no longer what the hub refused.
    const stale = Object.keys(next).filter(
      (key) => next[key as keyof ManifestDraft] !== draft[key as keyof ManifestDraft],
    );
    setHubErrors((all) =>
      Object.fromEntries(Object.entries(all).filter(([k]) => !stale.includes(k))),
    );
    setDraft(next);
    setEdited(true);
  }
  function toggleAdvanced(open: boolean) {
    setAdvanced(open);
    // Opened: the JSON starts as the fields say, and from then on takes precedence.
    if (open) setRaw(JSON.stringify(manifestOf(draft), null, 2));
    setRawError(undefined);
  }
  function manifestToSend(): { manifest?: unknown } | null {
    if (!withManifest) return {};
    if (advanced) {
      try {
        return { manifest: JSON.parse(raw) };
      } catch (caught) {
        setRawError(`Not valid JSON: ${(caught as Error).message}`);
        return null;
      }
    }
    setShowOwnErrors(true);
    if (Object.keys(draftErrors(draft)).length > 0) {
      setError('Some fields need fixing: see the marked ones.');
      return null;
    }
    return { manifest: manifestOf(draft) };
  }
  function submit(event: Event) {
    event.preventDefault();
    setRawError(undefined);
    const given = manifestToSend();
    if (!given) return;
    setHubErrors({});
    void run(
      async () => {
        const started = await api<{ operation_id: string }>('POST', '/api/modules/install', {
          package: spec.trim(),
          ...given,
        });
        props.onStarted({
          id: started.operation_id,
          title: `Installing ${spec.trim()}`,
          spec: spec.trim(),
        });
        setSpec('');
        setWithManifest(false);
        setEdited(false);
        setShowOwnErrors(false);
        setAdvanced(false);
      },
      (caught) => {
        if (caught instanceof ApiError && caught.error === 'invalid_manifest') {
          const fields = (caught.body?.fields ?? {}) as FieldErrors;
          setHubErrors(fields);
          if (advanced) setRawError(caught.description);
          return 'The hub refused this module.json: see the marked fields.';
        }
        return `Could not install ${spec}: ${describeError(caught)}`;
      },
    );
  }
  return (
    <form onSubmit={submit} aria-label="Install a module" class="install-package">
      <Field
        label="Package"
        value={spec}
        onValue={changeSpec}
        hint="An npm name (name@1.2.3), or a folder or .tgz on the hub’s machine."
      />
      {props.missing !== undefined && withManifest && (
        <p class="notice" role="status">
          {props.missing} ships no module.json. Say how to run it below, then install again.
        </p>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={withManifest}
          onChange={(e) => setWithManifest(e.currentTarget.checked)}
        />
        <span>It ships no module.json: describe it here</span>
      </label>
      {withManifest && (
        <>
          <ManifestFields draft={draft} onDraft={changeDraft} errors={errors} disabled={advanced} />
          <details
            class="manifest-advanced"
            open={advanced}
            onToggle={(e) => toggleAdvanced(e.currentTarget.open)}
          >
            <summary>Advanced: edit module.json</summary>
            <div class="field">
              <label for={rawId}>module.json</label>
              <textarea
                id={rawId}
                rows={12}
                value={raw}
                spellcheck={false}
                aria-invalid={rawError ? 'true' : undefined}
                aria-describedby={`${rawId}-hint`}
                onInput={(e) => setRaw(e.currentTarget.value)}
              />
              <p class="hint" id={`${rawId}-hint`}>
                While this is open, this JSON is what is installed (any field of the module.json
                format) and the fields above are locked; close it to use the fields again.
              </p>
              <FormError message={rawError} />
            </div>
          </details>
        </>
      )}
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
  const { id, file, setFile, busy, error, submit } = useTgzUpload(
    '/api/modules/upload',
    (chosen) => `Installing ${chosen.name}`,
    props.onStarted,
  );
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
