import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeError } from './api.ts';

/**
 * Loads `fetcher` once and again on `reload()`. The last answer stays shown
 * while a reload runs, so a list does not flash "Loading…" after each action.
 */
export function useLoad<T>(fetcher: () => Promise<T>): {
  data?: T;
  error?: string;
  reload: () => Promise<void>;
} {
  const [result, setResult] = useState<{ data?: T; error?: string }>({});
  const reload = useCallback(
    () =>
      fetcher().then(
        (data) => setResult({ data }),
        (caught: unknown) => setResult((old) => ({ data: old.data, error: describeError(caught) })),
      ),
    [],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  return { ...result, reload };
}
