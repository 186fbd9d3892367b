import { useEffect, useRef, useState } from 'preact/hooks';

/** A module operation as GET /api/modules/operations/:id shows it. */
export interface Operation {
  id: string;
  kind: string;
  target: string;
  state: 'running' | 'succeeded' | 'failed';
  error?: string;
  /** `no_manifest`: the package ships no module.json (install-forms.tsx offers the manifest form). */
  error_code?: string;
  module?: string;
}

/**
 * The streamed output of one module operation (install, upgrade,
 * uninstall) as it runs; calls `onDone` once with how it ended.
 */
export function OperationProgress(props: {
  id: string;
  title: string;
  onDone?: (op: Operation) => void;
}) {
  const [lines, setLines] = useState<string[]>([]);
  const [done, setDone] = useState<Operation>();
  const onDone = useRef(props.onDone);
  onDone.current = props.onDone;
  useEffect(() => {
    setLines([]);
    setDone(undefined);
    const events = new EventSource(
      `/api/modules/operations/${encodeURIComponent(props.id)}?follow=1`,
    );
    events.addEventListener('line', (event) => {
      const { line } = JSON.parse((event as MessageEvent<string>).data) as { line: string };
      setLines((all) => [...all.slice(-499), line]);
    });
    events.addEventListener('done', (event) => {
      const op = JSON.parse((event as MessageEvent<string>).data) as Operation;
      events.close();
      setDone(op);
      onDone.current?.(op);
    });
    return () => events.close();
  }, [props.id]);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [lines]);
  return (
    <div class="operation" data-testid="operation">
      <p role="status">
        {props.title}:{' '}
        {!done
          ? 'running…'
          : done.state === 'succeeded'
            ? 'done.'
            : `failed: ${done.error ?? 'see the output'}`}
      </p>
      <pre class="log" ref={pre} role="log" aria-label={`${props.title} output`}>
        {lines.join('\n')}
      </pre>
    </div>
  );
}
