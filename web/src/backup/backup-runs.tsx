import { formatTime } from '../time.ts';
import { drillText, formatBytes, STAGES } from './backup-format.ts';
import type { BackupRun } from './backup-types.ts';

const TRIGGERS: Record<BackupRun['trigger'], string> = {
  schedule: 'Scheduled',
  manual: 'By hand',
  upgrade: 'Before an upgrade',
};

/**
 * The last backups, newest first: when, why, how it went, how much it
 * stores, and what its restore drill proved (or what went wrong). A table
 * on a desktop, one card per backup on a phone (the audit table's styles).
 */
export function BackupRuns({ runs }: { runs: BackupRun[] }) {
  if (runs.length === 0) return <p class="muted">No backup has run yet.</p>;
  return (
    <table class="list audit-table backup-runs" aria-label="Recent backups">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Trigger</th>
          <th scope="col">State</th>
          <th scope="col">Stored</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-testid="backup-run">
            <td data-label="When">{formatTime(run.started_at)}</td>
            <td data-label="Trigger">{TRIGGERS[run.trigger]}</td>
            <td data-label="State">
              <span class={`badge state backup-${run.state}`} data-testid="backup-run-state">
                <span class="dot" aria-hidden="true" />
                {run.state === 'failed' ? 'failed' : run.state}
              </span>
            </td>
            <td data-label="Stored">
              {/* A failed run's archive is not one to count on, whatever was written. */}
              {run.state !== 'ok' || run.stored_bytes === null
                ? '—'
                : formatBytes(run.stored_bytes)}
              {run.pruned ? (
                <span class="muted" title="Removed from the target by the retention settings">
                  {' '}
                  (removed)
                </span>
              ) : null}
            </td>
            <td data-label="Result" class="audit-wrap" data-testid="backup-run-result">
              <Result run={run} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Result({ run }: { run: BackupRun }) {
  if (run.state === 'running') return <span class="muted">{STAGES[run.stage]}…</span>;
  if (run.state === 'failed') return <span class="error">{sentence(run.error ?? 'failed.')}</span>;
  if (run.drill?.ok) return <>Checked: {drillText(run.drill)}</>;
  return <span class="muted">Stored; no restore drill recorded.</span>;
}

/** The hub words an error to follow "failed at upload: "; alone in a cell it starts a sentence. */
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
