import { useEffect, useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { Field, FormError, useAction } from '../forms.tsx';
import { OneTimePassword } from '../one-time-password.tsx';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

/** A user as GET /api/users lists them (never a hash or a secret). */
interface HubUser {
  id: string;
  username: string;
  role: 'admin' | 'user';
  totp_enabled: boolean;
  password_change_required: boolean;
  created_at: string;
}

interface Shown {
  username: string;
  password: string;
}

/** /admin/users (admins): accounts, their vaults, new and reset passwords, deletion. */
export function Users() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Users</h1>
        <p class="muted">Only admins can manage users.</p>
      </section>
    );
  }
  return <AdminUsers />;
}

function AdminUsers() {
  const list = useLoad(() => api<{ users: HubUser[] }>('GET', '/api/users'));
  const [vaults, setVaults] = useState<string[]>([]);
  const [shown, setShown] = useState<Shown>();
  useEffect(() => {
    api<{ vaults?: { name: string }[] }>('GET', '/.well-known/parachute.json').then(
      (d) => setVaults((d.vaults ?? []).map((v) => v.name)),
      () => setVaults([]),
    );
  }, []);
  function passwordShown(next: Shown) {
    setShown(next);
    void list.reload();
  }
  return (
    <section>
      <h1>Users</h1>
      <section aria-labelledby="new-user-heading">
        <h2 id="new-user-heading">Add a user</h2>
        <NewUserForm onCreated={passwordShown} />
      </section>
      {shown && (
        <OneTimePassword
          username={shown.username}
          password={shown.password}
          onDone={() => setShown(undefined)}
        />
      )}
      <section aria-labelledby="users-heading">
        <h2 id="users-heading">Accounts</h2>
        <FormError message={list.error} />
        {!list.data && !list.error && <p class="muted">Loading…</p>}
        {list.data && (
          <ul class="cards" aria-label="Users">
            {list.data.users.map((user) => (
              <UserCard
                key={user.id}
                user={user}
                vaults={vaults}
                onReset={passwordShown}
                onDeleted={() => void list.reload()}
              />
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}

function NewUserForm(props: { onCreated: (shown: Shown) => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const { busy, error, run } = useAction();
  const roleId = useId();
  function submit(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        const name = username.trim();
        const made = await api<{ temporary_password: string }>('POST', '/api/users', {
          username: name,
          role,
        });
        setUsername('');
        props.onCreated({ username: name, password: made.temporary_password });
      },
      (caught) => describeError(caught),
    );
  }
  return (
    <form onSubmit={submit} aria-label="Add a user">
      <Field
        label="Username"
        value={username}
        onValue={setUsername}
        autocomplete="off"
        invalid={Boolean(error)}
        hint="Letters, digits, dot, dash and underscore. They get a temporary password and choose their own at first sign-in."
      />
      <div class="field">
        <label for={roleId}>Role</label>
        <select
          id={roleId}
          value={role}
          onChange={(e) => setRole(e.currentTarget.value as 'user' | 'admin')}
        >
          <option value="user">User</option>
          <option value="admin">Admin</option>
        </select>
        <p class="hint">
          A user connects their own apps to the vaults given to them; an admin manages everything.
        </p>
      </div>
      <FormError message={error} />
      <div class="actions">
        <button type="submit" disabled={busy || username.trim() === ''}>
          {busy ? 'Adding…' : 'Add user'}
        </button>
      </div>
    </form>
  );
}

function UserCard(props: {
  user: HubUser;
  vaults: string[];
  onReset: (shown: Shown) => void;
  onDeleted: () => void;
}) {
  const { user } = props;
  const me = useUser();
  const { busy, error, run } = useAction();
  function reset() {
    void run(
      async () => {
        const done = await api<{ temporary_password: string }>(
          'POST',
          `/api/users/${encodeURIComponent(user.id)}/reset-password`,
        );
        props.onReset({ username: user.username, password: done.temporary_password });
      },
      (caught) => `Could not reset the password: ${describeError(caught)}`,
    );
  }
  function remove() {
    void run(
      async () => {
        await api('DELETE', `/api/users/${encodeURIComponent(user.id)}`);
        props.onDeleted();
      },
      (caught) => `Could not delete: ${describeError(caught)}`,
    );
  }
  return (
    <li class="card" aria-label={`User ${user.username}`} data-testid="user">
      <div class="card-head">
        <h3>
          {user.username}
          {user.username === me.username && <span class="muted"> (you)</span>}
        </h3>
        <span class="badge">{user.role}</span>
      </div>
      <dl class="facts">
        <dt>Two-factor</dt>
        <dd data-testid="user-2fa">{user.totp_enabled ? 'on' : 'off'}</dd>
        <dt>Password</dt>
        <dd data-testid="user-password-state">
          {user.password_change_required ? 'temporary: must change at next sign-in' : 'their own'}
        </dd>
      </dl>
      {user.role === 'admin' ? (
        <p class="muted">Admins hold every vault.</p>
      ) : (
        <UserVaults user={user} vaults={props.vaults} />
      )}
      <FormError message={error} />
      <div class="actions card-actions">
        <ConfirmButton
          label="Reset password"
          question={
            <>
              Reset <strong>{user.username}</strong>’s password? They are signed out everywhere and
              get a new temporary password.
            </>
          }
          confirmLabel="Yes, reset"
          disabled={busy}
          onConfirm={reset}
        />
        <ConfirmButton
          label="Delete"
          question={
            <>
              Delete the user <strong>{user.username}</strong>? Their sessions and apps’ access end.
            </>
          }
          confirmLabel={`Yes, delete ${user.username}`}
          disabled={busy}
          onConfirm={remove}
        />
      </div>
    </li>
  );
}

/** The vaults a non-admin user may grant their apps (GET/PUT /api/users/:id/vaults). */
function UserVaults(props: { user: HubUser; vaults: string[] }) {
  const path = `/api/users/${encodeURIComponent(props.user.id)}/vaults`;
  const loaded = useLoad(() => api<{ vaults: string[] }>('GET', path));
  const [picked, setPicked] = useState<string[]>();
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const current = picked ?? loaded.data?.vaults ?? [];
  // A vault assigned once but no longer installed still shows, so it can be taken away.
  const names = [...props.vaults, ...current.filter((v) => !props.vaults.includes(v))];
  function save(event: Event) {
    event.preventDefault();
    setSaved(false);
    void run(
      async () => {
        const done = await api<{ vaults: string[] }>('PUT', path, { vaults: current });
        setPicked(done.vaults);
        setSaved(true);
      },
      (caught) => `Could not save the vaults: ${describeError(caught)}`,
    );
  }
  if (loaded.error) return <FormError message={loaded.error} />;
  if (!loaded.data) return <p class="muted">Loading vaults…</p>;
  return (
    <form onSubmit={save} aria-label={`Vaults of ${props.user.username}`}>
      <fieldset class="vault-picker">
        <legend>Vaults {props.user.username} may give apps</legend>
        {names.length === 0 && <p class="muted">No vaults are installed.</p>}
        {names.map((vault) => (
          <label key={vault} class="check">
            <input
              type="checkbox"
              checked={current.includes(vault)}
              disabled={busy}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                setSaved(false);
                setPicked(names.filter((v) => (v === vault ? on : current.includes(v))));
              }}
            />
            <span>{vault}</span>
          </label>
        ))}
      </fieldset>
      <FormError message={error} />
      <div class="actions">
        {names.length > 0 && (
          <button type="submit" class="small" disabled={busy}>
            {busy ? 'Saving…' : 'Save vaults'}
          </button>
        )}
        {saved && (
          <span role="status" class="muted">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
