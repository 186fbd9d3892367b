import { useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { FormError, useAction } from '../forms.tsx';
import type { LiveModule } from './live-modules.ts';
import { OperationProgress } from './operation-progress.tsx';
import { UpgradeUpload } from './upgrade-upload.tsx';

/** States from which Start makes sense; Stop and Restart need a process (or a pending restart). */
const STOPPED = new Set(['stopped', 'crashed']);

/**
 * Start, stop, restart, upgrade and uninstall one module. The new state
 * arrives by the live list; upgrades and uninstalls show their output.
 */
export function ModuleActions({ entry, label }: { entry: LiveModule; label: string }) {
  const { busy, error, run } = useAction();
  const [progress, setProgress] = useState<{ id: string; title: string }>();
  const [purge, setPurge] = useState(false);
  const path = `/api/modules/${encodeURIComponent(entry.name)}`;
  const act = (action: 'start' | 'stop' | 'restart') =>
    run(
      () => api('POST', `${path}/${action}`, {}),
      (caught) => `Could not ${action} ${label}: ${describeError(caught)}`,
    );
  const upgrade = () =>
    run(
      async () => {
        const started = await api<{ operation_id: string }>('POST', `${path}/upgrade`, {});
        setProgress({ id: started.operation_id, title: `Upgrading ${label}` });
      },
      (caught) => `Could not upgrade ${label}: ${describeError(caught)}`,
    );
  const uninstall = () =>
    run(
      async () => {
        // Answered once done; the list drops the module by itself.
        await api('DELETE', `${path}${purge ? '?purge=1' : ''}`);
      },
      (caught) => `Could not uninstall ${label}: ${describeError(caught)}`,
    );
  const stopped = STOPPED.has(entry.state);
  return (
    <>
      <FormError message={error} />
      <div class="actions">
        {stopped ? (
          <button type="button" class="small" disabled={busy} onClick={() => void act('start')}>
            Start
          </button>
        ) : (
          <>
            <button
              type="button"
              class="secondary small"
              disabled={busy}
              onClick={() => void act('stop')}
            >
              Stop
            </button>
            <button
              type="button"
              class="secondary small"
              disabled={busy}
              onClick={() => void act('restart')}
            >
              Restart
            </button>
          </>
        )}
        <button
          type="button"
          class="secondary small"
          disabled={busy}
          onClick={() => void upgrade()}
        >
          Upgrade
        </button>
      </div>
      <UpgradeUpload name={entry.name} label={label} onStarted={setProgress} />
      {progress && <OperationProgress id={progress.id} title={progress.title} />}
      <div class="actions uninstall">
        <label class="check">
          <input
            type="checkbox"
            checked={purge}
            disabled={busy}
            onChange={(e) => setPurge(e.currentTarget.checked)}
          />
          Also delete its data
        </label>
        <ConfirmButton
          label="Uninstall"
          disabled={busy}
          question={
            purge && entry.dataDir ? (
              <>
                Uninstall {label} and delete <code>{entry.dataDir}</code> with everything in it?
              </>
            ) : (
              <>Uninstall {label}? Its data stays.</>
            )
          }
          onConfirm={() => void uninstall()}
        />
      </div>
    </>
  );
}
