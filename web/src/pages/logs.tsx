import { useId, useMemo, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api } from '../api.ts';
import { LogList } from '../log-list.tsx';
import { type LogLine, MAX_LINES, useLogStream } from '../log-stream.ts';
import { useUser } from '../session.tsx';
import { useLoad } from '../use-load.ts';

/**
 * /admin/logs (the hub's own log) and /admin/logs/<module> (admins): follows
 * the log live, with pause, a text filter, stderr apart, and a download of
 * the lines held.
 */
export function Logs() {
  if (useUser().role !== 'admin') {
    return (
      <section>
        <h1>Logs</h1>
        <p class="muted">Only admins can read logs.</p>
      </section>
    );
  }
  return <LogsScreen />;
}

function LogsScreen() {
  const { params } = useRoute();
  const { route } = useLocation();
  const name = params.name ? decodeURIComponent(params.name) : '';
  const modules = useLoad(() => api<{ modules: { name: string }[] }>('GET', '/api/modules'));
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [errOnly, setErrOnly] = useState(false);
  const url = name
    ? `/api/modules/${encodeURIComponent(name)}/logs?follow=1&batch=1`
    : '/api/hub/logs?follow=1&batch=1';
  const stream = useLogStream(url, paused);
  const shown = useMemo(() => {
    const needle = filter.toLowerCase();
    if (!needle && !errOnly) return stream.lines;
    return stream.lines.filter(
      (l) => (!errOnly || l.stream === 'err') && (!needle || l.line.toLowerCase().includes(needle)),
    );
  }, [stream.lines, filter, errOnly]);
  const ids = { source: useId(), filter: useId(), errOnly: useId() };
  const title = name || 'Hub';

  return (
    <section class="logs">
      <h1>Logs</h1>
      <div class="log-controls">
        <div class="field">
          <label for={ids.source}>Source</label>
          <select
            id={ids.source}
            value={name}
            onChange={(e) => {
              const next = e.currentTarget.value;
              setPaused(false);
              route(next ? `/admin/logs/${encodeURIComponent(next)}` : '/admin/logs');
            }}
          >
            <option value="">Hub</option>
            {modules.data?.modules.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
            {name && !modules.data?.modules.some((m) => m.name === name) && (
              <option value={name}>{name}</option>
            )}
          </select>
        </div>
        <div class="field">
          <label for={ids.filter}>Filter</label>
          <input
            id={ids.filter}
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
            placeholder="Text to look for"
          />
        </div>
        <label class="check" for={ids.errOnly}>
          <input
            id={ids.errOnly}
            type="checkbox"
            checked={errOnly}
            onChange={(e) => setErrOnly(e.currentTarget.checked)}
          />
          stderr only
        </label>
        <div class="actions">
          <button type="button" onClick={() => setPaused(!paused)}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" onClick={() => download(title, stream.held())}>
            Download .log
          </button>
        </div>
      </div>
      <p class="muted log-status" aria-live="polite">
        {status(stream.state, paused, stream.missed)} {shown.length.toLocaleString()} of{' '}
        {stream.lines.length.toLocaleString()} lines shown; the last {MAX_LINES.toLocaleString()}{' '}
        are kept.
      </p>
      {modules.error && <p class="error">{modules.error}</p>}
      <LogList lines={shown} label={`Log of ${title}`} />
    </section>
  );
}

function status(state: string, paused: boolean, missed: number): string {
  if (paused) return `Paused: ${missed.toLocaleString()} new lines since.`;
  if (state === 'live') return 'Following live.';
  if (state === 'retrying') return 'Connection lost; retrying…';
  return 'Connecting…';
}

/** Saves the held lines as `<source>.log`, one `time stream line` per row. */
function download(title: string, lines: LogLine[]) {
  const text = lines.map((l) => `${new Date(l.ts).toISOString()} ${l.stream} ${l.line}`).join('\n');
  const href = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = href;
  a.download = `${title}.log`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
