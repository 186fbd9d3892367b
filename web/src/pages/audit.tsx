import { useEffect, useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { Field, FormError, useAction } from '../forms.tsx';
import { useUser } from '../session.tsx';
import { formatTime } from '../time.ts';

/** One entry, as GET /api/audit lists it. */
interface AuditEntry {
  id: number;
  at: string;
  actor: { id: string | null; name: string };
  ip: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure' | 'denied' | 'started';
  detail: Record<string, unknown> | null;
}

interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

/** The action groups the filter offers: each is an action prefix. */
const GROUPS: [prefix: string, label: string][] = [
  ['', 'All actions'],
  ['auth.', 'Sign-ins'],
  ['account.', 'Own account'],
  ['user.', 'Users'],
  ['app.', 'Connected apps'],
  ['token.', 'Tokens and keys'],
  ['connection.', 'Connections'],
  ['module.', 'Modules'],
  ['setting.', 'Settings'],
  ['vault.', 'Vaults'],
  ['grant.', 'Agent grants'],
  ['hub.', 'Export and import'],
];

interface Filters {
  action: string;
  actor: string;
  q: string;
  since: string; // yyyy-mm-dd, local
  until: string;
}

const NO_FILTERS: Filters = { action: '', actor: '', q: '', since: '', until: '' };

/** The query string for `filters`, days as the reader's local midnights. */
function queryOf(filters: Filters, cursor: string | null): string {
  const params = new URLSearchParams();
  if (filters.action) params.set('action', filters.action);
  if (filters.actor.trim()) params.set('actor', filters.actor.trim());
  if (filters.q.trim()) params.set('q', filters.q.trim());
  if (filters.since) params.set('since', new Date(`${filters.since}T00:00:00`).toISOString());
  if (filters.until) params.set('until', new Date(`${filters.until}T23:59:59.999`).toISOString());
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

/** /admin/audit (admins): who did what, when and from where, newest first. */
export function Audit() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Audit log</h1>
        <p class="muted">Only admins can read the audit log.</p>
      </section>
    );
  }
  return <AdminAudit />;
}

function AdminAudit() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const ids = { group: useId(), since: useId(), until: useId() };

  function load(filters: Filters, after: string | null) {
    void run(
      async () => {
        const page = await api<AuditPage>('GET', `/api/audit?${queryOf(filters, after)}`);
        setEntries((old) => (after ? [...(old ?? []), ...page.entries] : page.entries));
        setCursor(page.next_cursor);
      },
      (caught) => `Could not read the audit log: ${describeError(caught)}`,
    );
  }
  useEffect(() => load(NO_FILTERS, null), []);
  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));

  return (
    <section>
      <h1>Audit log</h1>
      <p class="muted">
        Sign-ins, and every change to users, apps, tokens, modules and settings, with who made it
        and from which address. Kept 90 days.
      </p>
      <form
        class="audit-filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(draft);
          load(draft, null);
        }}
      >
        <div class="field">
          <label for={ids.group}>Action</label>
          <select
            id={ids.group}
            value={draft.action}
            onChange={(event) => set('action')(event.currentTarget.value)}
          >
            {GROUPS.map(([prefix, label]) => (
              <option key={prefix} value={prefix}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <Field label="Who" value={draft.actor} onValue={set('actor')} required={false} />
        <Field label="Text" value={draft.q} onValue={set('q')} required={false} />
        <div class="field">
          <label for={ids.since}>From</label>
          <input
            id={ids.since}
            type="date"
            value={draft.since}
            onInput={(event) => set('since')(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for={ids.until}>To</label>
          <input
            id={ids.until}
            type="date"
            value={draft.until}
            onInput={(event) => set('until')(event.currentTarget.value)}
          />
        </div>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Filter
          </button>
        </div>
      </form>
      <FormError message={error} />
      {!entries && !error && <p class="muted">Loading…</p>}
      {entries && entries.length === 0 && <p class="muted">Nothing recorded matches.</p>}
      {entries && entries.length > 0 && (
        <table class="list audit-table" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Address</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id} data-testid="audit-entry">
                <td data-label="When">{formatTime(Date.parse(entry.at))}</td>
                <td data-label="Who" data-testid="audit-actor">
                  {entry.actor.name}
                </td>
                <td data-label="Action">
                  <code class="audit-action" data-testid="audit-action">
                    {entry.action}
                  </code>
                </td>
                <td data-label="Target" class="audit-wrap">
                  {entry.target ?? '—'}
                </td>
                <td data-label="Outcome">
                  <span class={`badge outcome-${entry.outcome}`}>{entry.outcome}</span>
                </td>
                <td data-label="Address">{entry.ip}</td>
                <td data-label="Detail" class="audit-wrap">
                  {entry.detail ? describeDetail(entry.detail) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor !== null && (
        <div class="actions load-more">
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() => load(applied, cursor)}
          >
            {busy ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </section>
  );
}

/** A detail object as "key: value, …"; strings as they are, anything else as JSON. */
function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}
