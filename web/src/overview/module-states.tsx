import type { LiveModule } from '../modules/live-modules.ts';

/** Every installed module with its state as a dot, kept live by the event stream. */
export function ModuleStates({ modules }: { modules: LiveModule[] | null }) {
  if (!modules) return <p class="muted">Loading…</p>;
  if (modules.length === 0) {
    return (
      <p class="muted">
        No modules are installed yet. <a href="/admin/modules">Install one</a>.
      </p>
    );
  }
  return (
    <ul class="module-states" aria-label="Module states">
      {modules.map((m) => {
        const label = m.displayName ?? m.module ?? m.name;
        return (
          <li key={m.name} class="module-state-row" aria-label={label}>
            <a href="/admin/modules">{label}</a>
            <span class={`badge state state-${m.state}`} data-testid="module-state">
              <span class="dot" aria-hidden="true" />
              {m.state}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
