import { headline } from '../modules/start-problem.tsx';
import { formatTime } from '../time.ts';
import type { AttentionItem } from './attention.ts';

/**
 * "Needs attention": each item says what is wrong in plain words and links
 * to the page where it is fixed. Nothing to show is said too, so the admin
 * knows the list was checked.
 */
export function AttentionList({ items, loading }: { items: AttentionItem[]; loading: boolean }) {
  return (
    <section class="attention" aria-labelledby="attention-heading">
      <h2 id="attention-heading">Needs attention</h2>
      {items.length === 0 ? (
        <p class="muted" data-testid="attention-none">
          {loading ? 'Checking…' : 'Nothing needs your attention.'}
        </p>
      ) : (
        <ul class="attention-list" data-testid="attention">
          {items.map((item) => (
            <li key={item.key} class={`attention-item ${severity(item)}`} aria-label={item.title}>
              <p class="attention-title">
                <strong>{item.title}</strong>
              </p>
              <Detail item={item} />
              <p class="attention-links">
                <a href={item.fix.href}>{item.fix.label}</a>
                {item.kind === 'module' && <a href={item.logs.href}>{item.logs.label}</a>}
              </p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function severity(item: AttentionItem): 'trouble' | 'pending' {
  return item.kind === 'module' || item.kind === 'backup' ? 'trouble' : 'pending';
}

/** What is wrong, per kind; a new kind of item must add its case here. */
function Detail({ item }: { item: AttentionItem }) {
  switch (item.kind) {
    case 'module': {
      const { problem } = item;
      if (!problem) return <p>It is {item.state}.</p>;
      return (
        <>
          <p>{headline(problem)}</p>
          <p class="muted">{problem.message}</p>
          {problem.holder && (
            <p class="muted">
              Port held by process <code>{problem.holder.pid}</code>:{' '}
              <code>{problem.holder.command}</code>
            </p>
          )}
        </>
      );
    }
    case 'backup':
      return (
        <>
          <p>{item.message}</p>
          <p class="muted">
            {item.lastGoodAt === null
              ? 'There is no good backup yet.'
              : `Last good backup: ${formatTime(item.lastGoodAt)}.`}
          </p>
        </>
      );
    case 'app':
      return (
        <p>
          Registered {formatTime(item.registeredAt)} and waiting for approval. Until then, anyone
          connecting it is warned first.
        </p>
      );
    case 'more-apps':
      return <p>Approve the ones you know; deny the rest.</p>;
    case 'upgrade':
      return (
        <p>
          This hub runs {item.current}. Upgrading backs up first and rolls back by itself if the new
          version does not start.
        </p>
      );
  }
}
