import { formatTime } from '../time.ts';
import type { BackupStatus } from './backup-types.ts';

const STATES: Record<BackupStatus['state'], string> = {
  off: 'Off',
  ok: 'Working',
  running: 'Backing up now',
  failing: 'Failing',
  missing: 'No recent good backup',
};

/** Where backups stand, in the hub's words, with the last good one and the next. */
export function BackupStatusSummary(props: { status: BackupStatus; configured: boolean }) {
  const { status } = props;
  const bad = status.state === 'failing' || status.state === 'missing';
  return (
    <div class={bad ? 'backup-status warning' : 'backup-status'} data-testid="backup-status">
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <span class={`badge state backup-${status.state}`}>
            <span class="dot" aria-hidden="true" />
            {status.state === 'off' && props.configured ? 'Paused' : STATES[status.state]}
          </span>
        </dd>
        <dt>Status</dt>
        <dd data-testid="backup-message">{status.message}</dd>
        <dt>Last good backup</dt>
        <dd>{status.last_good_at === null ? 'None yet' : formatTime(status.last_good_at)}</dd>
        <dt>Next backup</dt>
        <dd>{status.next_run_at === null ? 'Not scheduled' : formatTime(status.next_run_at)}</dd>
      </dl>
    </div>
  );
}
