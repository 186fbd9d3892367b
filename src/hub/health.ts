import { VERSION } from '../version.ts';
import type { BootState } from './boot-state.ts';
import { HUB_HEADERS } from './hub-headers.ts';

/** Body of GET /health: answered with 200 for as long as the process lives (deploy.md). */
export function healthBody(state: BootState) {
  return {
    status: 'ok',
    version: VERSION,
    db: state.db,
    modules: state.modules?.() ?? { running: 0, total: 0 },
  };
}

/**
 * GET (or HEAD) /health and /api/ready, or null for any other request.
 * Probes are answered before any router: systemd, Fly and Render ask every
 * few seconds for months, and answering must not build the admin app
 * (hub/lazy-app.ts). `checkDb` runs a trivial query so /health reports a
 * broken store.
 */
export function probeResponse(
  request: Request,
  path: string,
  state: BootState,
  checkDb?: () => boolean,
): Response | null {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  if (path === '/health') {
    if (checkDb && state.db !== 'opening') state.db = checkDb() ? 'ok' : 'error';
    return Response.json(healthBody(state), { headers: PROBE_HEADERS });
  }
  // 503 until boot has finished, so load balancers and install.sh wait for it.
  if (path === '/api/ready') {
    return state.ready
      ? Response.json({ status: 'ready' }, { headers: PROBE_HEADERS })
      : Response.json(
          { status: 'starting' },
          { status: 503, headers: { ...PROBE_HEADERS, 'retry-after': '1' } },
        );
  }
  return null;
}

const PROBE_HEADERS = { ...HUB_HEADERS, 'cache-control': 'no-store' };
