import { useEffect, useRef, useState } from 'preact/hooks';

/** One log line as the hub's SSE log endpoints send it. */
export interface LogLine {
  ts: number;
  stream: 'out' | 'err';
  line: string;
}

/** How many lines the viewer keeps in memory; older ones are dropped. */
export const MAX_LINES = 10_000;

/**
 * Follows an SSE log endpoint. Incoming lines are queued and folded into a
 * bounded array once per animation frame, so a module writing a million
 * lines costs one render per frame, not one per line. While paused, lines
 * still arrive (bounded) but the shown snapshot stays put and `missed`
 * counts them; resuming shows the latest at once.
 */
export function useLogStream(url: string, paused: boolean) {
  const held = useRef<LogLine[]>([]);
  const pausedRef = useRef(paused);
  const [view, setView] = useState<{ lines: LogLine[]; missed: number }>({ lines: [], missed: 0 });
  const [state, setState] = useState<'connecting' | 'live' | 'retrying'>('connecting');
  const missed = useRef(0);
  const flush = useRef<() => void>(() => {});

  useEffect(() => {
    held.current = [];
    missed.current = 0;
    setView({ lines: [], missed: 0 });
    let queue: LogLine[] = [];
    let frame = 0;
    flush.current = () => {
      frame = 0;
      if (queue.length > 0) {
        const next = held.current.concat(queue);
        queue = [];
        held.current = next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      }
      setView(
        pausedRef.current
          ? (old) => ({ lines: old.lines, missed: missed.current })
          : { lines: held.current, missed: 0 },
      );
    };
    const source = new EventSource(url);
    source.onopen = () => setState('live');
    source.onerror = () => setState('retrying');
    // A reconnect replays the buffer's tail: start over rather than show lines twice.
    source.addEventListener('open', () => {
      held.current = [];
      queue = [];
    });
    // batch=1: one event per array of lines (src/supervisor/log-sse.ts).
    source.addEventListener('lines', (event) => {
      const lines = JSON.parse((event as MessageEvent<string>).data) as LogLine[];
      if (pausedRef.current) missed.current += lines.length;
      for (const line of lines) queue.push(line);
      // Bound the queue too (a background tab gets no frames), trimming
      // seldom: slicing on every line would cost O(MAX_LINES) per line.
      if (queue.length > 2 * MAX_LINES) queue = queue.slice(queue.length - MAX_LINES);
      if (!frame) frame = requestAnimationFrame(() => flush.current());
    });
    return () => {
      source.close();
      cancelAnimationFrame(frame);
    };
  }, [url]);

  useEffect(() => {
    pausedRef.current = paused;
    if (!paused) missed.current = 0;
    flush.current();
  }, [paused]);

  return { lines: view.lines, missed: view.missed, state, held: () => held.current };
}
