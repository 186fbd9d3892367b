import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError, api, describeError } from '../api.ts';
import { AuthFrame } from '../auth-frame.tsx';
import { FormError, useAction } from '../forms.tsx';
import { type AuthorizationRequest, appName } from '../oauth-types.ts';
import { SignOutButton } from '../sign-out-button.tsx';
import { VaultPicker } from '../vault-picker.tsx';

const GONE =
  'This request has expired or was already answered. Go back to the app and connect again.';

type Loaded =
  | { status: 'loading' }
  | { status: 'ready'; request: AuthorizationRequest }
  | { status: 'gone' }
  | { status: 'error'; message: string };

/**
 * /admin/consent?request=<id>: the hub's /oauth/authorize sends the browser
 * here when the signed-in user must approve an app. Stands alone (no admin
 * chrome) and cannot be framed (the shell's CSP), so another site cannot
 * trick a click on Approve.
 */
export function Consent() {
  const { query } = useLocation();
  const id = query.request;
  const [loaded, setLoaded] = useState<Loaded>({ status: 'loading' });

  useEffect(() => {
    if (!id) {
      setLoaded({ status: 'gone' });
      return;
    }
    api<AuthorizationRequest>('GET', `/api/oauth/requests/${encodeURIComponent(id)}`)
      .then((request) => setLoaded({ status: 'ready', request }))
      .catch((caught: unknown) =>
        setLoaded(
          caught instanceof ApiError && caught.status === 404
            ? { status: 'gone' }
            : { status: 'error', message: describeError(caught) },
        ),
      );
  }, [id]);

  switch (loaded.status) {
    case 'ready':
      return <ConsentForm request={loaded.request} onGone={() => setLoaded({ status: 'gone' })} />;
    case 'gone':
      return (
        <AuthFrame title="Nothing to approve">
          <p role="alert">{GONE}</p>
        </AuthFrame>
      );
    case 'error':
      return (
        <AuthFrame title="Connect an app">
          <FormError message={loaded.message} />
        </AuthFrame>
      );
    default:
      return (
        <AuthFrame title="Connect an app">
          <p class="muted">Loading…</p>
        </AuthFrame>
      );
  }
}

function ConsentForm({ request, onGone }: { request: AuthorizationRequest; onGone: () => void }) {
  const { client, scopes, vault_choice: choice, user } = request;
  const name = appName(client.client_name);
  // One vault is no choice at all; with several, nothing is granted the user did not tick.
  const [vaults, setVaults] = useState<string[]>(
    choice?.vaults.length === 1 ? [...choice.vaults] : [],
  );
  const [noVault, setNoVault] = useState(false);
  // Set once the hub has answered: the browser is on its way to the app.
  const [leaving, setLeaving] = useState(false);
  const { busy, error, setError, run } = useAction();

  function answer(decision: 'approve' | 'deny') {
    if (decision === 'approve' && choice && vaults.length === 0) {
      setNoVault(true);
      setError('Pick at least one vault, or deny the request.');
      return;
    }
    setNoVault(false);
    void run(
      async () => {
        const body = decision === 'approve' && choice ? { decision, vaults } : { decision };
        const { redirect } = await api<{ redirect: string }>(
          'POST',
          `/api/oauth/requests/${encodeURIComponent(request.id)}`,
          body,
        );
        setLeaving(true);
        // A full navigation: the app's callback is another origin, never a route of this SPA.
        window.location.assign(redirect);
      },
      (caught) => {
        if (caught instanceof ApiError && caught.status === 404) onGone();
        return describeError(caught);
      },
    );
  }

  const disabled = busy || leaving;
  return (
    <AuthFrame title={`${name} wants to access your Parachute hub`}>
      {client.status !== 'denied' && client.first_time && (
        <p class="warning" role="note">
          This app has not been connected before. Only approve it if you just started connecting it
          yourself.
        </p>
      )}
      {client.status === 'denied' && (
        <p class="warning" role="note">
          An administrator has denied this app.
        </p>
      )}
      <p>
        Signed in as <strong data-testid="consent-username">{user.username}</strong>. It will send
        you back to <strong data-testid="consent-redirect-host">{client.redirect_host}</strong>.
      </p>
      {client.metadata_host && (
        <p>
          The app describes itself at{' '}
          <strong data-testid="consent-metadata-host">{client.metadata_host}</strong>.
        </p>
      )}
      {scopes.length > 0 ? (
        <>
          <p>If you approve, it will be able to:</p>
          <ul class="scopes" aria-label="Requested access">
            {scopes.map((s) => (
              <li key={s.scope}>
                {s.description}
                <br />
                <code class="muted">{s.scope}</code>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>It asks for no particular access: only to know that you signed in.</p>
      )}
      {request.not_granted.length > 0 && (
        <details class="not-granted">
          <summary class="muted">
            Also asked for {request.not_granted.length} thing
            {request.not_granted.length === 1 ? '' : 's'} this hub will not grant
          </summary>
          <ul aria-label="Not granted">
            {request.not_granted.map((d) => (
              <li key={d.scope}>
                <code>{d.scope}</code>: {d.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {choice && (
        <VaultPicker
          verbs={choice.verbs}
          vaults={choice.vaults}
          picked={vaults}
          onPicked={(picked) => {
            setVaults(picked);
            if (picked.length > 0 && noVault) {
              setNoVault(false);
              setError(undefined);
            }
          }}
          disabled={disabled}
          invalid={noVault}
        />
      )}
      <FormError message={error} />
      {leaving && (
        <p class="muted" role="status">
          Returning you to {client.redirect_host}…
        </p>
      )}
      <div class="actions">
        <button type="button" disabled={disabled} onClick={() => answer('approve')}>
          Approve
        </button>
        <button type="button" class="secondary" disabled={disabled} onClick={() => answer('deny')}>
          Deny
        </button>
      </div>
      <div class="auth-footer">
        <SignOutButton />
      </div>
    </AuthFrame>
  );
}
