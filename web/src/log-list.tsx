import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { LogLine } from './log-stream.ts';

/** Each row's height in px; styles.css gives .log-row the same. */
const ROW = 20;
/** Rows rendered beyond each edge of the view, so a fast scroll shows no gap. */
const OVERSCAN = 10;

/**
 * A fixed-height, scrollable list that renders only the rows in view (plus
 * a few), so ten thousand lines cost the DOM a few dozen nodes. It keeps to
 * the bottom while the reader is there, and stays put once they scroll up.
 */
export function LogList({ lines, label }: { lines: LogLine[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(400);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight);
    if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
      setTop(el.scrollTop);
    }
  }, [lines]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
    setTop(el.scrollTop);
  };

  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((top + height) / ROW) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const l = lines[i] as LogLine;
    rows.push(
      <div
        key={i}
        class={l.stream === 'err' ? 'log-row log-err' : 'log-row'}
        style={{ top: `${i * ROW}px` }}
        data-stream={l.stream}
      >
        {l.stream === 'err' && <span class="log-tag">err </span>}
        {l.line}
      </div>,
    );
  }
  return (
    <div
      class="log-box"
      ref={box}
      onScroll={onScroll}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls, so keyboard users must reach it
      tabIndex={0}
      role="log"
      aria-live="off"
      aria-label={label}
    >
      <div class="log-space" style={{ height: `${lines.length * ROW}px` }}>
        {rows}
      </div>
    </div>
  );
}
