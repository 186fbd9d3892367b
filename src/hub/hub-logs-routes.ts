import { Elysia } from 'elysia';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { hubLogBuffer } from '../platform/log.ts';
import { followLog } from '../supervisor/log-sse.ts';

/**
 * GET /api/hub/logs[?tail=N][&follow=1[&batch=1]] (admins): the hub's own recent log
 * lines, shaped as GET /api/modules/:name/logs answers a module's, so the
 * admin UI reads both alike. The bootstrap banner is never among them
 * (log.secret keeps it out of the buffer).
 */
export function hubLogsRoutes(auth: AuthContext) {
  return new Elysia({ name: 'hub.logs' })
    .use(requireAuth(auth))
    .get('/api/hub/logs', ({ query }) => {
      const tail =
        query.tail === undefined ? undefined : Math.max(0, Number.parseInt(query.tail, 10) || 0);
      if (query.follow !== '1') return { name: 'hub', lines: hubLogBuffer.tail(tail) };
      return followLog(hubLogBuffer, tail, query.batch === '1');
    });
}
