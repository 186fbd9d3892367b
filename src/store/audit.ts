import type { Database } from 'bun:sqlite';

/** Who did it: a user, the operator, a token's sub, or nobody signed in. */
export interface Actor {
  id: string | null;
  name: string;
}

export const ANONYMOUS: Actor = { id: null, name: 'anonymous' };

export type Outcome = 'success' | 'failure' | 'denied' | 'started';

export interface AuditInput {
  actor: Actor;
  ip: string;
  action: string;
  target?: string | null;
  outcome: Outcome;
  detail?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: Actor;
  ip: string;
  action: string;
  target: string | null;
  outcome: Outcome;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  action?: string; // a prefix: "auth." matches auth.login and auth.login.failed
  actor?: string; // a user id, token sub or name, exactly
  since?: number;
  until?: number;
  q?: string; // text anywhere in action, target, actor name or detail
  cursor?: number; // the id of the last entry of the previous page
  limit?: number;
}

/** Retention: entries older than this go, and the table keeps at most `maxRows`. */
export const RETENTION = { days: 90, maxRows: 100_000, pruneEvery: 200 };

// Detail keys that could carry a secret are dropped whatever a caller passes.
const SECRET_KEY = /pass|token|secret|code|otp|cookie|authorization|credential_value/i;

let insertsSincePrune = 0;

/** Records one entry; prunes old rows every `pruneEvery` inserts (cheap). */
export function record(db: Database, entry: AuditInput, now = Date.now()): void {
  db.run(
    `INSERT INTO audit_log (at, actor_id, actor_name, ip, action, target, outcome, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      now,
      entry.actor.id,
      entry.actor.name,
      entry.ip,
      entry.action,
      entry.target ? withoutUrlCredentials(entry.target) : null,
      entry.outcome,
      entry.detail ? JSON.stringify(safeDetail(entry.detail)) : null,
    ],
  );
  insertsSincePrune += 1;
  if (insertsSincePrune >= RETENTION.pruneEvery) {
    insertsSincePrune = 0;
    prune(db, now);
  }
}

/** Deletes entries past the retention window and beyond the row cap. */
export function prune(db: Database, now = Date.now(), limits = RETENTION): void {
  db.run('DELETE FROM audit_log WHERE at < ?', [now - limits.days * 86_400_000]);
  db.run('DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?', [limits.maxRows]);
}

function safeDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(detail)
      .filter(([key]) => !SECRET_KEY.test(key))
      .map(([key, value]) => [
        key,
        typeof value === 'string' ? withoutUrlCredentials(value) : value,
      ]),
  );
}

/** A package URL may carry `user:password@`: the log keeps the URL without it. */
function withoutUrlCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//');
}

interface Row {
  id: number;
  at: number;
  actor_id: string | null;
  actor_name: string;
  ip: string;
  action: string;
  target: string | null;
  outcome: Outcome;
  detail: string | null;
}

/** Entries matching `query`, newest first, one page; next_cursor is null at the end. */
export function queryAudit(
  db: Database,
  query: AuditQuery,
): { entries: AuditEntry[]; next_cursor: string | null } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.action) {
    where.push('substr(action, 1, ?) = ?');
    args.push(query.action.length, query.action);
  }
  if (query.actor) {
    where.push('(actor_id = ? OR actor_name = ?)');
    args.push(query.actor, query.actor);
  }
  if (query.since !== undefined) {
    where.push('at >= ?');
    args.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('at <= ?');
    args.push(query.until);
  }
  if (query.q) {
    where.push(
      "(instr(lower(action || ' ' || coalesce(target, '') || ' ' || actor_name || ' ' || ip || ' ' || coalesce(detail, '')), lower(?)) > 0)",
    );
    args.push(query.q);
  }
  if (query.cursor !== undefined) {
    where.push('id < ?');
    args.push(query.cursor);
  }
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
  const rows = db
    .query<Row, (string | number)[]>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id DESC LIMIT ?`,
    )
    .all(...args, limit + 1);
  const page = rows.slice(0, limit);
  return {
    entries: page.map((row) => ({
      id: row.id,
      at: row.at,
      actor: { id: row.actor_id, name: row.actor_name },
      ip: row.ip,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
    })),
    next_cursor: rows.length > limit ? String(page.at(-1)?.id) : null,
  };
}
