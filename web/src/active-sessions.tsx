import { useState } from 'preact/hooks';
import { api, describeError } from './api.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { FormError, useAction } from './forms.tsx';
import { formatTime } from './time.ts';
import { useLoad } from './use-load.ts';

interface ActiveSession {
  created_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

/** The signed-in user's sessions, and signing out every one but this browser's. */
export function ActiveSessions() {
  const list = useLoad(() => api<{ sessions: ActiveSession[] }>('GET', '/api/account/sessions'));
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();
  const others = list.data?.sessions.filter((s) => !s.current).length ?? 0;
  function revokeOthers() {
    setDone(false);
    void run(
      async () => {
        await api('POST', '/api/account/sessions/revoke-others');
        await list.reload();
        setDone(true);
      },
      (caught) => `Could not sign out the other sessions: ${describeError(caught)}`,
    );
  }
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Active sessions</h2>
      <FormError message={list.error} />
      {list.data && (
        <ul class="cards" aria-label="Active sessions">
          {list.data.sessions.map((s, i) => (
            // Sessions have no public id (the hash stays on the server); the order is stable per load.
            <li key={i} class="card" data-testid="session">
              <div class="card-head">
                <h3 class="session-agent">{s.user_agent ?? 'Unknown browser'}</h3>
                {s.current && <span class="badge live">this browser</span>}
              </div>
              <dl class="facts">
                <dt>Address</dt>
                <dd>{s.ip ?? 'unknown'}</dd>
                <dt>Signed in</dt>
                <dd>{formatTime(Date.parse(s.created_at))}</dd>
                <dt>Last seen</dt>
                <dd>{formatTime(Date.parse(s.last_seen_at))}</dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
      {done && <p role="status">Every other session is signed out.</p>}
      <FormError message={error} />
      <div class="actions">
        <ConfirmButton
          label="End all other sessions"
          question={`End the ${others} other session${others === 1 ? '' : 's'}? They are signed out; this browser stays signed in.`}
          confirmLabel="Yes, sign them out"
          disabled={busy || others === 0}
          onConfirm={revokeOthers}
        />
      </div>
    </section>
  );
}
