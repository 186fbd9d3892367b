import type { UiInstance } from '../../../src/modules/ui-links.ts';
import { api } from '../api.ts';
import { useHealth } from '../health.ts';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

/** GET /api/modules, the fields the tiles show. */
interface ModuleLinks {
  name: string;
  module: string | null;
  displayName: string | null;
  tagline: string | null;
  links: UiInstance[];
}

/** The landing page: the modules' own UIs, whether the hub is healthy, which version runs. */
export function Overview() {
  const health = useHealth();
  const admin = useUser().role === 'admin';
  return (
    <section>
      <h1>Overview</h1>
      {admin && <ModuleTiles />}
      {health.error && <p class="error">Cannot reach the hub: {health.error}</p>}
      {!health.data && !health.error && <p class="muted">Loading…</p>}
      {health.data && (
        <dl class="facts" data-testid="hub-health">
          <dt>Status</dt>
          <dd>{health.data.status}</dd>
          <dt>Version</dt>
          <dd>{health.data.version}</dd>
          <dt>Database</dt>
          <dd>{health.data.db}</dd>
        </dl>
      )}
    </section>
  );
}

/**
 * One tile per place a module's UI lives (one per vault for a vault-like
 * module), from module.json `uiUrl`, with its "Manage" (`managementUrl`)
 * and "Configure" (`configUiUrl`) links. Modules that declare none get no tile.
 */
function ModuleTiles() {
  const load = useLoad(() => api<{ modules: ModuleLinks[] }>('GET', '/api/modules'));
  const tiles = (load.data?.modules ?? []).flatMap((m) =>
    m.links.map((link) => ({ module: m, link, several: m.links.length > 1 })),
  );
  if (tiles.length === 0) return null;
  return (
    <ul class="tiles" aria-label="Module apps">
      {tiles.map(({ module: m, link, several }) => {
        const name = m.displayName ?? m.module ?? m.name;
        const label = several && link.vault ? `${name} (${link.vault})` : name;
        const configure = link.configUiUrl !== link.managementUrl ? link.configUiUrl : undefined;
        return (
          <li key={`${m.name} ${link.path}`} class="tile">
            <h2>{link.uiUrl ? <a href={link.uiUrl}>{label}</a> : label}</h2>
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
  );
}
