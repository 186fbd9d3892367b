import { api } from '../api.ts';
import { ClientList } from '../client-list.tsx';
import { FormError } from '../forms.tsx';
import { GrantList } from '../grant-list.tsx';
import type { Grant, OAuthClient } from '../oauth-types.ts';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

/**
 * /admin/apps: the apps that may act for a user (grants and their tokens),
 * and for admins every registered app. Admins see everyone's grants.
 */
export function Apps() {
  const admin = useUser().role === 'admin';
  const grants = useLoad(() => api<{ grants: Grant[] }>('GET', '/api/oauth/grants'));
  const clients = useLoad(() =>
    admin
      ? api<{ clients: OAuthClient[] }>('GET', '/api/oauth/clients')
      : Promise.resolve({ clients: [] }),
  );
  // Both lists after any action: disconnecting changes a client's user count,
  // deleting a client removes its grants.
  const reload = () => {
    void grants.reload();
    if (admin) void clients.reload();
  };

  return (
    <section>
      <h1>Connected apps</h1>
      <section aria-labelledby="grants-heading">
        <h2 id="grants-heading">
          {admin ? 'Apps with access' : 'Apps with access to your account'}
        </h2>
        <FormError message={grants.error} />
        {grants.data ? (
          <GrantList grants={grants.data.grants} showUser={admin} onChanged={reload} />
        ) : (
          !grants.error && <p class="muted">Loading…</p>
        )}
      </section>
      {admin && (
        <section aria-labelledby="clients-heading">
          <h2 id="clients-heading">Registered apps</h2>
          <p class="muted">
            Any program can register itself as an app. A new one waits for approval: a user who
            connects it is warned first, and approving it there approves it here.
          </p>
          <FormError message={clients.error} />
          {clients.data ? (
            <ClientList clients={clients.data.clients} onChanged={reload} />
          ) : (
            !clients.error && <p class="muted">Loading…</p>
          )}
        </section>
      )}
    </section>
  );
}
