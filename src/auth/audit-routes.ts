import { Elysia } from 'elysia';
import { queryAudit } from '../store/audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { requireAuth } from './guard.ts';

/**
 * The audit log (issue 16 point 5), admins only:
 *
 *   GET /api/audit?action=&actor=&since=&until=&q=&cursor=
 *       -> {entries: [{id, at, actor: {id, name}, ip, action, target, outcome, detail}], next_cursor}
 *
 * `action` is a prefix ("auth." or "module.install"); `since`/`until` are
 * ISO dates or epoch milliseconds; newest first, 50 a page.
 */
export function auditRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'auth.audit' })
    .use(requireAuth(ctx))
    .get('/api/audit', ({ query, status, set }) => {
      set.headers['cache-control'] = 'no-store';
      const since = time(query.since);
      const until = time(query.until);
      const cursor = query.cursor ? Number(query.cursor) : undefined;
      if (since === null || until === null || (cursor !== undefined && !Number.isInteger(cursor))) {
        return status(
          400,
          authError(
            'invalid_request',
            'since and until must be dates; cursor comes from next_cursor.',
          ),
        );
      }
      const page = queryAudit(ctx.db, {
        action: query.action || undefined,
        actor: query.actor || undefined,
        q: query.q || undefined,
        since,
        until,
        cursor,
      });
      return {
        entries: page.entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
        next_cursor: page.next_cursor,
      };
    });
}

/** An ISO date or epoch milliseconds; undefined when absent, null when unreadable. */
function time(value: string | undefined): number | undefined | null {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
