import { api, describeError } from './api.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { useAction } from './forms.tsx';
import { appName, type ClientStatus, type OAuthClient } from './oauth-types.ts';
import { formatTime } from './time.ts';

const STATUS_WORDS: Record<ClientStatus, string> = {
  pending: 'Waiting for approval',
  approved: 'Approved',
  denied: 'Denied',
};

/**
 * Every registered app (admin only), those waiting for approval first: any
 * program can register itself (RFC 7591), so the admin decides which may
 * ask users at all.
 */
export function ClientList(props: { clients: OAuthClient[]; onChanged: () => void }) {
  if (props.clients.length === 0) return <p class="muted">No apps have registered yet.</p>;
  // Stable sort: within each group the hub's order stays.
  const sorted = [...props.clients].sort(
    (a, b) => Number(b.status === 'pending') - Number(a.status === 'pending'),
  );
  return (
    <ul class="cards" aria-label="Registered apps">
      {sorted.map((client) => (
        <ClientCard key={client.client_id} client={client} onChanged={props.onChanged} />
      ))}
    </ul>
  );
}

function ClientCard(props: { client: OAuthClient; onChanged: () => void }) {
  const { client } = props;
  const name = appName(client.client_name);
  const { busy, error, run } = useAction();
  const path = `/api/oauth/clients/${encodeURIComponent(client.client_id)}`;

  function act(method: string, suffix: string, verb: string) {
    void run(
      async () => {
        await api(method, `${path}${suffix}`);
        props.onChanged();
      },
      (caught) => `Could not ${verb} ${name}: ${describeError(caught)}`,
    );
  }

  return (
    <li class={`card ${client.status}`} aria-label={name} data-testid="client">
      <div class="card-head">
        <h3>{name}</h3>
        <span class={`badge ${client.status}`} data-testid="client-status">
          {STATUS_WORDS[client.status]}
        </span>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <dl class="facts">
        <dt>Returns to</dt>
        <dd>
          {client.redirect_uris.map((uri) => (
            <div key={uri}>
              <code>{uri}</code>
            </div>
          ))}
        </dd>
        {client.client_uri && (
          <>
            <dt>Website</dt>
            {/* Shown, not linked: the app chose this URL itself. */}
            <dd>
              <code>{client.client_uri}</code>
            </dd>
          </>
        )}
        <dt>Registered</dt>
        <dd>{formatTime(client.created_at)}</dd>
        <dt>Users</dt>
        <dd>{client.grant_count}</dd>
      </dl>
      <div class="actions">
        {client.status !== 'approved' && (
          <button
            type="button"
            class="small"
            disabled={busy}
            onClick={() => act('POST', '/approve', 'approve')}
          >
            Approve
          </button>
        )}
        {client.status === 'pending' && (
          <button
            type="button"
            class="secondary small"
            disabled={busy}
            onClick={() => act('POST', '/deny', 'deny')}
          >
            Deny
          </button>
        )}
        {/* Denying an approved app signs it out everywhere: ask first. */}
        {client.status === 'approved' && (
          <ConfirmButton
            label="Deny"
            question={`Deny ${name}? Everyone's access through it ends at once.`}
            disabled={busy}
            onConfirm={() => act('POST', '/deny', 'deny')}
          />
        )}
        <ConfirmButton
          label="Delete"
          question={`Delete ${name}? Everyone's access through it ends at once.`}
          disabled={busy}
          onConfirm={() => act('DELETE', '', 'delete')}
        />
      </div>
    </li>
  );
}
