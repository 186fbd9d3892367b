import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { FormError, useAction } from '../forms.tsx';
import { EnvEditor } from '../modules/env-editor.tsx';
import { InstallForms } from '../modules/install-forms.tsx';
import {
  formatBytes,
  formatDuration,
  type LiveModule,
  useLiveModules,
  useTick,
} from '../modules/live-modules.ts';
import { ModuleActions } from '../modules/module-actions.tsx';
import type { Operation } from '../modules/operation-progress.tsx';
import { Sparkline } from '../modules/sparkline.tsx';
import { StartProblem } from '../modules/start-problem.tsx';
import { useLoad } from '../use-load.ts';

/** GET /api/modules/isolation: how a module's pages run in the browser (modules.md section 7). */
interface BrowserMode {
  name: string;
  isolated: boolean;
  mode: 'own-origin' | 'isolated' | 'trusted';
  origin: string;
}

/**
 * /admin/modules: installed modules, live (state, uptime, restarts, why one
 * is not running), what to do with each, and for each what its pages can do
 * in the admin's browser; installing one says the same before it happens.
 */
export function Modules() {
  const live = useLiveModules();
  const names = live.modules?.map((m) => m.name).join(' ');
  const load = useLoad(() =>
    api<{ apps_domain: string | null; modules: BrowserMode[] }>('GET', '/api/modules/isolation'),
  );
  const reloadBrowser = load.reload;
  // A module installed or removed: its browser mode comes from another endpoint.
  useEffect(() => {
    if (names !== undefined) reloadBrowser();
  }, [names]);
  const browser = load.data;
  const modules = live.modules;
  const tick = useTick(modules?.some((m) => m.uptimeMs !== null) ?? false);
  const target = useTargetCard(modules !== undefined);
  return (
    <section>
      <h1>Modules</h1>
      <FormError message={load.error} />
      <h2>Install</h2>
      {browser && <InstallForm appsDomain={browser.apps_domain} onInstalled={load.reload} />}
      <h2>Installed</h2>
      {live.error && (
        <p class="warning" role="status">
          {live.error}
        </p>
      )}
      {!modules && <p class="muted">Loading…</p>}
      {modules && modules.length === 0 && <p class="muted">No modules are installed yet.</p>}
      {modules && modules.length > 0 && (
        <ul class="cards" aria-label="Installed modules">
          {modules.map((m) => (
            <ModuleCard
              key={m.name}
              entry={m}
              uptimeMs={
                m.uptimeMs === null ? null : m.uptimeMs + Math.max(0, tick - live.receivedAt)
              }
              browser={browser?.modules.find((b) => b.name === m.name)}
              onChanged={load.reload}
              targeted={m.name === target}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * The module named by the address's `#module-<name>` (a module's 502 page
 * links here): its card is marked and scrolled into view once the list is in.
 */
function useTargetCard(loaded: boolean): string | null {
  const [target] = useState(() => {
    if (!location.hash.startsWith('#module-')) return null;
    try {
      return decodeURIComponent(location.hash.slice('#module-'.length));
    } catch {
      return null;
    }
  });
  useEffect(() => {
    if (loaded && target) document.getElementById(`module-${target}`)?.scrollIntoView();
  }, [loaded, target]);
  return target;
}

/** What a module's pages can do to the hub, in plain words. */
function BrowserNotice({ browser }: { browser: BrowserMode }) {
  if (browser.mode === 'own-origin') {
    return (
      <p class="notice" data-testid="module-browser">
        Its pages run on their own origin, <code>{browser.origin}</code>, so they cannot act as you
        on this hub.{browser.isolated && ' They are sandboxed there too.'}
      </p>
    );
  }
  if (browser.mode === 'isolated') {
    return (
      <p class="notice" data-testid="module-browser">
        Isolated: its pages are sandboxed, so they cannot act as you on this hub, and they cannot
        keep storage, cookies or service workers.
      </p>
    );
  }
  return (
    <p class="warning" data-testid="module-browser">
      Its pages share this hub’s origin, so in your browser they can do anything you can do here:
      create users, approve apps, install modules. Isolate it if it needs no storage, or give
      modules their own origins with an apps domain.
    </p>
  );
}

function ModuleCard(props: {
  entry: LiveModule;
  uptimeMs: number | null;
  browser: BrowserMode | undefined;
  onChanged: () => void;
  targeted?: boolean;
}) {
  const { entry, browser } = props;
  const label = entry.displayName ?? entry.module ?? entry.name;
  const { busy, error, run } = useAction();
  const setIsolated = (isolated: boolean) =>
    run(
      async () => {
        await api('POST', `/api/modules/${encodeURIComponent(entry.name)}/isolation`, { isolated });
        props.onChanged();
      },
      (caught) => `Could not change ${label}: ${describeError(caught)}`,
    );
  return (
    <li
      class={props.targeted ? 'card targeted' : 'card'}
      id={`module-${entry.name}`}
      aria-label={label}
    >
      <div class="card-head">
        <h3>{label}</h3>
        <span class={`badge state state-${entry.state}`} data-testid="module-state">
          <span class="dot" aria-hidden="true" />
          {entry.state}
        </span>
      </div>
      <FormError message={error} />
      <dl class="facts">
        <dt>Version</dt>
        <dd>{entry.version}</dd>
        <dt>Port</dt>
        <dd>{entry.port}</dd>
        {props.uptimeMs !== null && (
          <>
            <dt>Up for</dt>
            <dd data-testid="module-uptime">{formatDuration(props.uptimeMs)}</dd>
          </>
        )}
        {entry.resources && (
          <>
            <dt>CPU</dt>
            <dd data-testid="module-cpu">
              {entry.resources.cpuPercent === null
                ? 'measuring…'
                : `${entry.resources.cpuPercent.toFixed(1)} %`}{' '}
              <Sparkline
                values={entry.resources.history.map((s) => s.cpuPercent ?? 0)}
                label="CPU over the last hour"
              />
            </dd>
            <dt>Memory</dt>
            <dd data-testid="module-memory">
              {formatBytes(entry.resources.rssBytes)}{' '}
              <Sparkline
                values={entry.resources.history.map((s) => s.rssBytes)}
                label="Memory over the last hour"
              />
            </dd>
          </>
        )}
        <dt>Restarts</dt>
        <dd data-testid="module-restarts">{entry.restarts}</dd>
        <dt>Pages</dt>
        <dd>
          {entry.paths.map((path) => (
            <div key={path}>
              <a href={`${browser?.origin ?? ''}${path}/`}>{path}</a>
            </div>
          ))}
        </dd>
      </dl>
      {entry.lastError && entry.state !== 'running' && <StartProblem problem={entry.lastError} />}
      <ModuleActions entry={entry} label={label} />
      <EnvEditor name={entry.name} label={label} />
      {browser && <BrowserNotice browser={browser} />}
      {browser && (
        <div class="actions">
          {browser.isolated ? (
            <ConfirmButton
              label="Stop isolating"
              question={
                browser.mode === 'own-origin'
                  ? 'Let its pages use storage on their own origin?'
                  : 'Let its pages act as you on this hub?'
              }
              disabled={busy}
              onConfirm={() => void setIsolated(false)}
            />
          ) : (
            <button
              type="button"
              class="secondary small"
              disabled={busy}
              onClick={() => void setIsolated(true)}
            >
              Isolate
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** Installing, saying first what the module's pages will be able to do. */
function InstallForm(props: { appsDomain: string | null; onInstalled: () => void }) {
  const [isolate, setIsolate] = useState(false);
  const { error, run } = useAction();
  const installed = (op: Operation) =>
    run(
      async () => {
        // Marked right away: the admin who installs it is the first to open its pages.
        if (isolate && op.module) {
          await api('POST', `/api/modules/${encodeURIComponent(op.module)}/isolation`, {
            isolated: true,
          });
        }
        props.onInstalled();
      },
      (caught) => `Installed, but could not isolate it: ${describeError(caught)}`,
    );
  return (
    <div class="install">
      {props.appsDomain ? (
        <p class="notice" data-testid="install-browser">
          Each module’s pages get their own origin under <code>{props.appsDomain}</code>: they
          cannot act as you on this hub.
        </p>
      ) : (
        <p class="warning" data-testid="install-browser">
          A module’s pages share this hub’s origin: in your browser they can do anything you can do
          here. Install only modules you trust, or isolate it (for modules that need no storage).
        </p>
      )}
      {!props.appsDomain && (
        <label class="check">
          <input
            type="checkbox"
            checked={isolate}
            onChange={(e) => setIsolate(e.currentTarget.checked)}
          />
          Isolate its pages (sandboxed: no storage, cookies or service workers)
        </label>
      )}
      <InstallForms onInstalled={(op) => void installed(op)} />
      <FormError message={error} />
    </div>
  );
}
