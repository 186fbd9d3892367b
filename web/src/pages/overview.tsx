import { useHealth } from '../health.ts';

/** The landing page: is the hub healthy, which version runs. */
export function Overview() {
  const health = useHealth();
  return (
    <section>
      <h1>Overview</h1>
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
