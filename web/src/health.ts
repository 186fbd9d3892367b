import { useEffect, useState } from 'preact/hooks';

/** GET /health, as the hub answers it. */
export interface Health {
  status: string;
  version: string;
  db: string;
}

/** Loads /health once; `error` says why it could not be reached. */
export function useHealth(): { data?: Health; error?: string } {
  const [result, setResult] = useState<{ data?: Health; error?: string }>({});
  useEffect(() => {
    fetch('/health', { headers: { accept: 'application/json' } })
      .then(async (res) => {
        if (!res.ok) throw new Error(`the hub answered ${res.status}`);
        setResult({ data: (await res.json()) as Health });
      })
      .catch((error: Error) => setResult({ error: error.message }));
  }, []);
  return result;
}
