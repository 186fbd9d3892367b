import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { FormError } from '../forms.tsx';
import { useUser } from '../session.tsx';
import { formatTime } from '../time.ts';

/** GET /api/hub/upgrade */
interface UpgradeInfo {
  current: string;
  latest: string | null;
  available: boolean;
  reason: string | null;
  checked_at: string | null;
  /** The hub is looking at the release channel now. */
  checking: boolean;
  can_upgrade: boolean;
  refusal: { message: string; hint: string } | null;
  status: UpgradeStatus | null;
}
interface UpgradeStatus {
  id: string;
  state: 'running' | 'succeeded' | 'restart_needed' | 'rolled_back' | 'failed';
  from: string;
  to: string | null;
  started_at: string;
  finished_at: string | null;
  steps: { at: string; message: string }[];
  error: string | null;
}

/** How often the page asks for progress while an upgrade runs (the hub restarts in between). */
const POLL_MS = 1000;

/** /admin/upgrade (admins): the running and available versions, the upgrade and how it went. */
export function Upgrade() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Upgrade</h1>
        <p class="muted">Only admins can upgrade the hub.</p>
      </section>
    );
  }
  return <AdminUpgrade />;
}

function AdminUpgrade() {
  const [info, setInfo] = useState<UpgradeInfo>();
  const [error, setError] = useState<string>();
  // While set, the page polls: an upgrade this page started, or one found running.
  const [watching, setWatching] = useState<string | null>(null);
  const [restarting, setRestarting] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      const next = await api<UpgradeInfo>('GET', '/api/hub/upgrade');
      setInfo(next);
      setRestarting(false);
      setError(undefined);
      return next;
    } catch (caught) {
      // Mid-upgrade the hub is away for a few seconds: that is the restart, not an error.
      if (watching) setRestarting(true);
      else setError(describeError(caught));
      return undefined;
    }
  };

  useEffect(() => {
    void load().then((first) => {
      if (first?.status?.state === 'running') setWatching(first.status.id);
    });
  }, []);

  // The hub looks at the channel in the background: ask again until it has its answer.
  useEffect(() => {
    if (!info?.checking || watching) return;
    const timer = setTimeout(() => void load(), POLL_MS);
    return () => clearTimeout(timer);
  }, [info, watching]);

  useEffect(() => {
    if (!watching) return;
    const timer = setInterval(async () => {
      const next = await load();
      const status = next?.status;
      if (status && status.id === watching && status.state !== 'running') {
        setWatching(null);
        // The new hub serves a new admin UI: load it (the outcome stays on the page as the last upgrade).
        if (status.state === 'succeeded' && status.to !== status.from) window.location.reload();
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [watching]);

  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const body = info?.latest ? { to: info.latest } : {};
      const { id } = await api<{ id: string }>('POST', '/api/hub/upgrade', body);
      setWatching(id);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  const checkAgain = async () => {
    setBusy(true);
    try {
      await api('POST', '/api/hub/upgrade/check');
      await load();
    } finally {
      setBusy(false);
    }
  };

  const status = info?.status ?? null;
  const running = watching !== null || status?.state === 'running';
  // Installed but this hub has not been restarted onto it: a second upgrade would replace it again.
  const pendingRestart = status?.state === 'restart_needed' && status.from === info?.current;
  return (
    <section>
      <h1>Upgrade</h1>
      <FormError message={error} />
      {!info ? (
        !error && <p class="muted">Loading…</p>
      ) : (
        <>
          <dl class="facts upgrade-facts" data-testid="upgrade-versions">
            <dt>Running</dt>
            <dd>{info.current}</dd>
            <dt>Latest release</dt>
            <dd>
              {info.latest ?? <span class="muted">{info.reason ?? 'unknown'}</span>}
              {info.latest && !info.available && (
                <span class="muted"> (this hub is up to date)</span>
              )}
            </dd>
            {info.checked_at && (
              <>
                <dt>Checked</dt>
                <dd>{formatTime(Date.parse(info.checked_at))}</dd>
              </>
            )}
          </dl>
          {info.refusal ? (
            <div class="notice-box" role="note" data-testid="upgrade-refusal">
              <p>{info.refusal.message}</p>
              <p>{info.refusal.hint}</p>
            </div>
          ) : (
            <p class="upgrade-actions">
              {!(info.latest && !info.available) && (
                <ConfirmButton
                  label={
                    info.latest && info.available
                      ? `Upgrade to ${info.latest}`
                      : 'Upgrade to the latest release'
                  }
                  question={
                    <>
                      Back up hub.db, replace the hub with {info.latest ?? 'the latest release'} and
                      restart it? Modules restart too; if it does not start within 60 s the current
                      version is put back.
                    </>
                  }
                  confirmLabel="Yes, upgrade"
                  disabled={busy || running || pendingRestart}
                  onConfirm={() => void start()}
                />
              )}
              <button
                type="button"
                class="secondary small"
                disabled={busy || running}
                onClick={() => void checkAgain()}
              >
                Check again
              </button>
            </p>
          )}
          {(status || watching) && (
            <Progress status={status} watching={watching} restarting={restarting} />
          )}
        </>
      )}
    </section>
  );
}

function Progress(props: {
  status: UpgradeStatus | null;
  watching: string | null;
  restarting: boolean;
}) {
  const { watching, restarting } = props;
  // Until the watcher writes its first step, the file still holds the last upgrade.
  const status = props.status && (!watching || props.status.id === watching) ? props.status : null;
  return (
    <section class="upgrade-progress" aria-labelledby="upgrade-progress-heading">
      <h2 id="upgrade-progress-heading">{status && !watching ? 'Last upgrade' : 'Progress'}</h2>
      <div role="status" aria-live="polite" data-testid="upgrade-outcome">
        {status ? <Outcome status={status} /> : <p>Starting…</p>}
        {restarting && <p class="muted">The hub is restarting…</p>}
      </div>
      {status && (
        <ol class="upgrade-steps" data-testid="upgrade-steps">
          {status.steps.map((step) => (
            <li key={`${step.at} ${step.message}`}>
              <span class="muted">{formatTime(Date.parse(step.at))}</span> {step.message}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Outcome({ status }: { status: UpgradeStatus }) {
  const to = status.to ?? 'the new version';
  switch (status.state) {
    case 'running':
      return (
        <p>
          Upgrading from {status.from} to {to}…
        </p>
      );
    case 'succeeded':
      return <p class="ok">Upgraded: the hub runs {to}.</p>;
    case 'restart_needed':
      return (
        <p class="warning">
          {to} is installed. No service manager runs this hub: restart it (stop{' '}
          <code>parachute serve</code> and start it again) to run the new version.
        </p>
      );
    case 'rolled_back':
      return (
        <p class="error">
          {to} did not start, so the hub was rolled back: {status.from} runs again. {status.error}
        </p>
      );
    case 'failed':
      return <p class="error">The upgrade failed: {status.error}</p>;
  }
}
