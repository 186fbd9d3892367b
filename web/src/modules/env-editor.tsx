import { useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { Field, FormError, useAction } from '../forms.tsx';
import { useLoad } from '../use-load.ts';

interface EnvAnswer {
  settings: { key: string; value: string }[];
}

/**
 * A module's `.env` settings: names shown, values never (they are often
 * secrets); set or remove one, then restart to apply it.
 */
export function EnvEditor(props: { name: string; label: string }) {
  const path = `/api/modules/${encodeURIComponent(props.name)}/env`;
  const load = useLoad(() => api<EnvAnswer>('GET', path));
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const change = (values: Record<string, string | null>) =>
    run(
      async () => {
        await api('PUT', path, { values });
        setSaved(true);
        setKey('');
        setValue('');
        await load.reload();
      },
      (caught) => `Could not save: ${describeError(caught)}`,
    );
  const restart = () =>
    run(
      async () => {
        await api('POST', `/api/modules/${encodeURIComponent(props.name)}/restart`, {});
        setSaved(false);
      },
      (caught) => `Could not restart ${props.label}: ${describeError(caught)}`,
    );
  return (
    <details class="env">
      <summary>Settings (.env)</summary>
      <FormError message={load.error} />
      {load.data && load.data.settings.length === 0 && <p class="muted">No settings yet.</p>}
      {load.data && load.data.settings.length > 0 && (
        <dl class="facts" aria-label={`${props.label} settings`}>
          {load.data.settings.map((s) => (
            <div key={s.key} class="env-row">
              <dt>
                <code>{s.key}</code>
              </dt>
              <dd>
                <span title="value hidden">{s.value}</span>{' '}
                <ConfirmButton
                  label={`Remove ${s.key}`}
                  question={`Remove ${s.key}?`}
                  confirmLabel="Yes, remove"
                  disabled={busy}
                  onConfirm={() => void change({ [s.key]: null })}
                />
              </dd>
            </div>
          ))}
        </dl>
      )}
      <form
        aria-label={`Set a setting of ${props.label}`}
        onSubmit={(event) => {
          event.preventDefault();
          void change({ [key.trim()]: value });
        }}
      >
        <Field
          label="Name"
          value={key}
          onValue={setKey}
          hint="Letters, digits and _; an existing name is replaced."
        />
        <Field
          label="Value"
          type="password"
          value={value}
          onValue={setValue}
          required={false}
          autocomplete="off"
        />
        <FormError message={error} />
        <div class="actions">
          <button type="submit" class="secondary small" disabled={busy || key.trim() === ''}>
            Save setting
          </button>
        </div>
      </form>
      {saved && (
        <p class="notice" role="status">
          Saved. {props.label} reads its settings when it starts.{' '}
          <button type="button" class="small" disabled={busy} onClick={() => void restart()}>
            Restart now
          </button>
        </p>
      )}
    </details>
  );
}
