import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { Field, FormError, useAction } from '../forms.tsx';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

interface OriginInfo {
  origin: string;
  source: string;
  origins: string[];
}
interface AppsDomainInfo {
  apps_domain: string | null;
  source: string;
  active: boolean;
}
interface HubSettings {
  allowed_hosts: string[];
  trusted_proxies: string[];
  trusts_platform_proxy: boolean;
  version: string;
  commit: string;
  platform: string;
}
interface IsolationInfo {
  apps_domain: string | null;
  modules: { name: string; module: string; isolated: boolean; mode: string; origin: string }[];
}

/** /admin/settings (admins): the hub's origin, apps domain, env-only settings, module isolation. */
export function Settings() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Settings</h1>
        <p class="muted">Only admins can change the hub’s settings.</p>
      </section>
    );
  }
  return <AdminSettings />;
}

function AdminSettings() {
  // A new apps domain changes every module's mode: the isolation list is read again.
  const [appsSaves, setAppsSaves] = useState(0);
  return (
    <section>
      <h1>Settings</h1>
      <OriginSection />
      <AppsDomainSection onSaved={() => setAppsSaves((n) => n + 1)} />
      <IsolationSection key={appsSaves} />
      <EnvSection />
    </section>
  );
}

const SOURCE_WORDS: Record<string, string> = {
  settings: 'saved here',
  loopback: 'the default: nothing is set',
  FLY_APP_NAME: 'from Fly (FLY_APP_NAME)',
  RENDER_EXTERNAL_URL: 'from Render (RENDER_EXTERNAL_URL)',
};
// Anything else is the environment variable it came from.
const sourceWords = (source: string | null) =>
  source === null ? 'not set' : (SOURCE_WORDS[source] ?? `from ${source}`);

function OriginSection() {
  const loaded = useLoad(() => api<OriginInfo>('GET', '/api/hub/origin'));
  const [value, setValue] = useState<string>();
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const shown = value ?? loaded.data?.origin ?? '';
  const schemeChanges =
    loaded.data !== undefined &&
    shown.includes('://') &&
    shown.split(':')[0] !== loaded.data.origin.split(':')[0];
  function save(event: Event) {
    event.preventDefault();
    setSaved(false);
    void run(
      async () => {
        await api('PUT', '/api/hub/origin', { origin: shown.trim() === '' ? null : shown.trim() });
        setValue(undefined);
        await loaded.reload();
        setSaved(true);
      },
      (caught) => describeError(caught),
    );
  }
  return (
    <section aria-labelledby="origin-heading">
      <h2 id="origin-heading">Hub origin</h2>
      <FormError message={loaded.error} />
      {loaded.data && (
        <form onSubmit={save} aria-label="Hub origin" class="wrap-anywhere">
          <p data-testid="origin-current">
            <code>{loaded.data.origin}</code>{' '}
            <span class="muted">({sourceWords(loaded.data.source)})</span>
          </p>
          <Field
            label="Origin"
            value={shown}
            onValue={(v) => {
              setSaved(false);
              setValue(v);
            }}
            required={false}
            invalid={Boolean(error)}
            hint="The address people and apps reach this hub at, like https://hub.example.com. Empty goes back to the environment or the default."
          />
          <p class="muted">
            Saving a new origin restarts every module, and tokens name the new one.
            {schemeChanges && (
              <strong>
                {' '}
                Moving between http and https signs browsers out: sign in again at the new address.
              </strong>
            )}
          </p>
          <SaveRow
            label="Save origin"
            error={error}
            busy={busy}
            changed={value !== undefined}
            saved={saved}
          />
        </form>
      )}
    </section>
  );
}

function AppsDomainSection(props: { onSaved: () => void }) {
  const loaded = useLoad(() => api<AppsDomainInfo>('GET', '/api/hub/apps-domain'));
  const [value, setValue] = useState<string>();
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const shown = value ?? loaded.data?.apps_domain ?? '';
  function save(event: Event) {
    event.preventDefault();
    setSaved(false);
    void run(
      async () => {
        const trimmed = shown.trim();
        await api('PUT', '/api/hub/apps-domain', { apps_domain: trimmed === '' ? null : trimmed });
        setValue(undefined);
        await loaded.reload();
        setSaved(true);
        props.onSaved();
      },
      (caught) => describeError(caught),
    );
  }
  return (
    <section aria-labelledby="apps-domain-heading">
      <h2 id="apps-domain-heading">Apps domain</h2>
      <FormError message={loaded.error} />
      {loaded.data && (
        <form onSubmit={save} aria-label="Apps domain">
          <p data-testid="apps-domain-current">
            {loaded.data.apps_domain ? (
              <>
                <code>{loaded.data.apps_domain}</code>{' '}
                <span class="muted">
                  ({sourceWords(loaded.data.source)}
                  {loaded.data.active ? '' : '; not in force: the hub’s own origin lies under it'})
                </span>
              </>
            ) : (
              <span class="muted">Not set: modules share the hub’s origin.</span>
            )}
          </p>
          <Field
            label="Apps domain"
            value={shown}
            onValue={(v) => {
              setSaved(false);
              setValue(v);
            }}
            required={false}
            invalid={Boolean(error)}
            hint="Each module gets its own origin under it, like notes.apps.example.com (needs a wildcard DNS name). Empty clears it. Saving restarts modules."
          />
          <SaveRow
            label="Save apps domain"
            error={error}
            busy={busy}
            changed={value !== undefined}
            saved={saved}
          />
        </form>
      )}
    </section>
  );
}

function IsolationSection() {
  const loaded = useLoad(() => api<IsolationInfo>('GET', '/api/modules/isolation'));
  return (
    <section aria-labelledby="isolation-heading">
      <h2 id="isolation-heading">Module isolation</h2>
      <p class="muted">
        An isolated module’s pages run sandboxed, without the hub’s cookies. With an apps domain
        every module has its own origin, which isolates them anyway.
      </p>
      <FormError message={loaded.error} />
      {loaded.data && loaded.data.modules.length === 0 && (
        <p class="muted">No modules are installed.</p>
      )}
      {loaded.data && loaded.data.modules.length > 0 && (
        <ul class="cards" aria-label="Module isolation">
          {loaded.data.modules.map((m) => (
            <IsolationRow key={m.name} module={m} onChanged={() => void loaded.reload()} />
          ))}
        </ul>
      )}
    </section>
  );
}

function IsolationRow(props: { module: IsolationInfo['modules'][number]; onChanged: () => void }) {
  const [isolated, setIsolated] = useState(props.module.isolated);
  const { busy, error, run } = useAction();
  useEffect(() => setIsolated(props.module.isolated), [props.module.isolated]);
  function toggle(on: boolean) {
    // Shown at once (a controlled checkbox would snap back while the request runs); undone on failure.
    setIsolated(on);
    void run(
      async () => {
        const done = await api<{ isolated: boolean }>(
          'POST',
          `/api/modules/${encodeURIComponent(props.module.name)}/isolation`,
          { isolated: on },
        );
        setIsolated(done.isolated);
        props.onChanged();
      },
      (caught) => {
        setIsolated(!on);
        return `Could not change isolation: ${describeError(caught)}`;
      },
    );
  }
  return (
    <li class="card" data-testid="isolation-row">
      <label class="check">
        <input
          type="checkbox"
          checked={isolated}
          disabled={busy}
          onChange={(e) => toggle(e.currentTarget.checked)}
        />
        <span>
          Isolate <strong>{props.module.module}</strong>{' '}
          <span class="muted" data-testid="isolation-mode">
            ({props.module.mode})
          </span>
        </span>
      </label>
      <FormError message={error} />
    </li>
  );
}

function EnvSection() {
  const loaded = useLoad(() => api<HubSettings>('GET', '/api/hub/settings'));
  const d = loaded.data;
  return (
    <section aria-labelledby="env-heading">
      <h2 id="env-heading">From the environment</h2>
      <p class="muted">These change only by editing the environment and restarting the hub.</p>
      <FormError message={loaded.error} />
      {d && (
        <dl class="facts wrap-anywhere">
          <dt>Allowed host names</dt>
          <dd data-testid="allowed-hosts">
            {d.allowed_hosts.length > 0 ? d.allowed_hosts.join(', ') : 'none besides the origin'}{' '}
            <span class="muted">(PARACHUTE_ALLOWED_HOSTS)</span>
          </dd>
          <dt>Trusted proxies</dt>
          <dd data-testid="trusted-proxies">
            {d.trusts_platform_proxy
              ? 'the hosting platform’s proxy'
              : d.trusted_proxies.length > 0
                ? d.trusted_proxies.join(', ')
                : 'none'}{' '}
            <span class="muted">(PARACHUTE_TRUSTED_PROXIES)</span>
          </dd>
          <dt>Version</dt>
          <dd>
            {d.version} <span class="muted">({d.commit})</span>
          </dd>
          <dt>Platform</dt>
          <dd>{d.platform}</dd>
        </dl>
      )}
    </section>
  );
}

/** A settings form's end: the server's error, its save button, and "Saved." once it is. */
function SaveRow(props: {
  label: string;
  error: ComponentChildren;
  busy: boolean;
  changed: boolean;
  saved: boolean;
}) {
  return (
    <>
      <FormError message={props.error} />
      <div class="actions">
        <button type="submit" disabled={props.busy || !props.changed}>
          {props.busy ? 'Saving…' : props.label}
        </button>
        {props.saved && (
          <span role="status" class="muted">
            Saved.
          </span>
        )}
      </div>
    </>
  );
}
