import { api, describeError } from './api.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { useAction } from './forms.tsx';
import { appName, type Grant, type GrantToken } from './oauth-types.ts';
import { formatTime } from './time.ts';

/** Every grant the viewer may see: what each app may do, for whom, and its live tokens. */
export function GrantList(props: { grants: Grant[]; showUser: boolean; onChanged: () => void }) {
  if (props.grants.length === 0) return <p class="muted">No apps are connected yet.</p>;
  return (
    <ul class="cards" aria-label="Connected apps">
      {props.grants.map((grant) => (
        <GrantCard
          key={grant.id}
          grant={grant}
          showUser={props.showUser}
          onChanged={props.onChanged}
        />
      ))}
    </ul>
  );
}

function GrantCard(props: { grant: Grant; showUser: boolean; onChanged: () => void }) {
  const { grant } = props;
  const name = appName(grant.client_name);
  const { busy, error, run } = useAction();
  function disconnect() {
    void run(
      async () => {
        await api('DELETE', `/api/oauth/grants/${encodeURIComponent(grant.id)}`);
        props.onChanged();
      },
      (caught) => `Could not disconnect ${name}: ${describeError(caught)}`,
    );
  }
  return (
    <li class="card" aria-label={name} data-testid="grant">
      <div class="card-head">
        <h3>{name}</h3>
        <ConfirmButton
          label="Disconnect"
          question={`Disconnect ${name}? It loses access at once and must be approved again.`}
          disabled={busy}
          onConfirm={disconnect}
        />
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <dl class="facts">
        {props.showUser && (
          <>
            <dt>User</dt>
            <dd>{grant.username}</dd>
          </>
        )}
        <dt>Access</dt>
        <dd>
          <ScopeList scopes={grant.scopes} />
        </dd>
        <dt>Approved</dt>
        <dd>{formatTime(grant.created_at)}</dd>
      </dl>
      <TokenTable tokens={grant.tokens} onChanged={props.onChanged} />
    </li>
  );
}

/** Scopes as code, or a plain note when the grant names none. */
export function ScopeList({ scopes }: { scopes: string[] }) {
  if (scopes.length === 0) return <span class="muted">sign-in only</span>;
  return (
    <span class="scope-list">
      {scopes.map((scope) => (
        <code key={scope}>{scope}</code>
      ))}
    </span>
  );
}

function TokenTable(props: { tokens: GrantToken[]; onChanged: () => void }) {
  if (props.tokens.length === 0) {
    return <p class="muted">No active sessions: the app must be approved again to get one.</p>;
  }
  return (
    <table class="list">
      <caption>Active sessions</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.tokens.map((token) => (
          <TokenRow key={token.id} token={token} onChanged={props.onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function TokenRow(props: { token: GrantToken; onChanged: () => void }) {
  const { token } = props;
  const { busy, error, run } = useAction();
  function revoke() {
    void run(
      async () => {
        await api('DELETE', `/api/oauth/tokens/${encodeURIComponent(token.id)}`);
        props.onChanged();
      },
      (caught) => `Could not revoke: ${describeError(caught)}`,
    );
  }
  return (
    <tr data-testid="grant-token">
      <td>{formatTime(token.created_at)}</td>
      <td>{token.last_used_at === null ? 'never' : formatTime(token.last_used_at)}</td>
      <td>{formatTime(token.expires_at)}</td>
      <td>
        <button type="button" class="secondary small" disabled={busy} onClick={revoke}>
          Revoke
        </button>
        {error && (
          <span class="form-error inline" role="alert">
            {error}
          </span>
        )}
      </td>
    </tr>
  );
}
