import { useMemo } from 'preact/hooks';
import type { UiInstance } from '../../../src/modules/ui-links.ts';
import { api } from '../api.ts';
import type { BackupsInfo } from '../backup/backup-types.ts';
import { FormError } from '../forms.tsx';
import { useHealth } from '../health.ts';
import { type LiveModule, useLiveModules } from '../modules/live-modules.ts';
import type { OAuthClient } from '../oauth-types.ts';
import { attentionItems } from '../overview/attention.ts';
import { AttentionList } from '../overview/attention-list.tsx';
import { type HubInfo, HubRows } from '../overview/hub-facts.tsx';
import { ModuleStates } from '../overview/module-states.tsx';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

/** GET /api/modules/events also carries what the tiles show. */
interface ModuleWithLinks extends LiveModule {
  tagline: string | null;
  links: UiInstance[];
}

/**
 * The landing page. Everyone sees whether the hub is healthy and which
 * version runs; an admin also sees what needs attention, the modules' own
 * UIs, the hub's build, origin, platform and uptime, and every module's state,
 * kept live by the modules' event stream.
 */
export function Overview() {
  const admin = useUser().role === 'admin';
  return (
    <section>
      <h1>Overview</h1>
      {admin ? (
        <AdminOverview />
      ) : (
        <dl class="facts" data-testid="hub-health">
          <HealthRows />
        </dl>
      )}
    </section>
  );
}

/**
 * The attention list is computed here, in the browser: its module half comes
 * from the live event stream the page already holds, so an item appears and
 * goes as a module's state changes, with no second stream or polling on the
 * server. Later sources (GET /api/hub's upgrade, the last backup) join
 * `attentionItems` the same way.
 */
function AdminOverview() {
  const live = useLiveModules();
  const hub = useLoad(() =>
    api<HubInfo>('GET', '/api/hub').then((info) => ({ info, at: performance.now() })),
  );
  const apps = useLoad(() => api<{ clients: OAuthClient[] }>('GET', '/api/oauth/clients'));
  const backups = useLoad(() => api<BackupsInfo>('GET', '/api/hub/backups'));
  const modules = live.modules as ModuleWithLinks[] | null;
  const items = useMemo(
    () =>
      attentionItems({
        modules,
        apps: apps.data?.clients ?? null,
        upgrade: hub.data?.info.upgrade ?? null,
        backup: backups.data?.status ?? null,
      }),
    [modules, apps.data, hub.data, backups.data],
  );
  return (
    <>
      {live.error && (
        <p class="warning" role="status">
          {live.error}
        </p>
      )}
      <FormError message={apps.error} />
      {backups.error && <FormError message={`Cannot read the backup status: ${backups.error}`} />}
      <AttentionList items={items} loading={!modules || !apps.data} />
      <ModuleTiles modules={modules ?? []} />
      <div class="overview-grid">
        <section class="card" aria-labelledby="hub-heading">
          <h2 id="hub-heading">Hub</h2>
          <FormError message={hub.error} />
          <dl class="facts wrap-anywhere" data-testid="hub-health">
            <HealthRows commit={hub.data?.info.commit ?? null} />
            {hub.data && <HubRows hub={hub.data.info} receivedAt={hub.data.at} />}
          </dl>
        </section>
        <section class="card" aria-labelledby="modules-heading">
          <h2 id="modules-heading">Modules</h2>
          <ModuleStates modules={modules} />
        </section>
      </div>
    </>
  );
}

/**
 * Status, version and database from /health (anyone signed in can read it),
 * the version with its build commit when the admin's GET /api/hub knows it.
 */
function HealthRows({ commit = null }: { commit?: string | null }) {
  const health = useHealth();
  if (health.error) {
    return (
      <>
        <dt>Status</dt>
        <dd class="error">Cannot reach the hub: {health.error}</dd>
      </>
    );
  }
  if (!health.data) {
    return (
      <>
        <dt>Status</dt>
        <dd class="muted">Loading…</dd>
      </>
    );
  }
  return (
    <>
      <dt>Status</dt>
      <dd>{health.data.status}</dd>
      <dt>Version</dt>
      <dd>
        {health.data.version}
        {commit && <Commit commit={commit} />}
      </dd>
      <dt>Database</dt>
      <dd>{health.data.db}</dd>
    </>
  );
}

/** A 40-hex commit shortened as git does; anything else (`abc123-dirty`) shown whole. */
function Commit({ commit }: { commit: string }) {
  const short = /^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 7) : commit;
  return (
    <span class="muted">
      {' '}
      (commit <code title={commit}>{short}</code>)
    </span>
  );
}

/**
 * One tile per place a module's UI lives (one per vault for a vault-like
 * module), from module.json `uiUrl`, with its "Manage" (`managementUrl`)
 * and "Configure" (`configUiUrl`) links. Modules that declare none get no tile.
 */
function ModuleTiles({ modules }: { modules: ModuleWithLinks[] }) {
  const tiles = modules.flatMap((m) =>
    (m.links ?? []).map((link) => ({ module: m, link, several: m.links.length > 1 })),
  );
  if (tiles.length === 0) return null;
  return (
    <section aria-labelledby="tiles-heading">
      <h2 id="tiles-heading">Module apps</h2>
      <ul class="tiles" aria-label="Module apps">
        {tiles.map(({ module: m, link, several }) => {
          const name = m.displayName ?? m.module ?? m.name;
          const label = several && link.vault ? `${name} (${link.vault})` : name;
          const configure = link.configUiUrl !== link.managementUrl ? link.configUiUrl : undefined;
          return (
            <li key={`${m.name} ${link.path}`} class="tile">
              <h3>{link.uiUrl ? <a href={link.uiUrl}>{label}</a> : label}</h3>
              {m.tagline && <p class="muted">{m.tagline}</p>}
              {(link.managementUrl || configure) && (
                <p class="tile-links">
                  {link.managementUrl && (
                    <a href={link.managementUrl} aria-label={`Manage ${label}`}>
                      Manage
                    </a>
                  )}
                  {configure && (
                    <a href={configure} aria-label={`Configure ${label}`}>
                      Configure
                    </a>
                  )}
                </p>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
