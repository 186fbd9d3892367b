import { Elysia } from 'elysia';
import { VERSION } from '../version.ts';
import type { BootState } from './boot-state.ts';

/** Body of GET /health: answered with 200 for as long as the process lives (deploy.md). */
export function healthBody(state: BootState) {
  return {
    status: 'ok',
    version: VERSION,
    db: state.db,
    modules: state.modules?.() ?? { running: 0, total: 0 },
  };
}

/** GET /api/ready: 503 until boot has finished, so load balancers and install.sh wait for it. */
export function readyResponse(state: BootState): Response {
  return Response.json(
    state.ready ? { status: 'ready' } : { status: 'starting' },
    state.ready ? { status: 200 } : { status: 503, headers: { 'retry-after': '1' } },
  );
}

/** Liveness and readiness probes. `checkDb` runs a trivial query so /health reports a broken store. */
export function healthRoutes(state: BootState, checkDb: () => boolean) {
  return new Elysia({ name: 'hub.health' })
    .get('/health', ({ set }) => {
      set.headers['cache-control'] = 'no-store';
      if (state.db !== 'opening') state.db = checkDb() ? 'ok' : 'error';
      return healthBody(state);
    })
    .get('/api/ready', () => readyResponse(state));
}
