import { useEffect } from 'preact/hooks';
import { api } from '../api.ts';
import { useLoad } from '../use-load.ts';
import type { BackupsInfo } from './backup-types.ts';

/** How often the page asks again while a backup runs, so its stage and result show. */
export const POLL_MS = 2000;

/**
 * GET /api/hub/backups, asked again every 2 s while a run is running (and
 * only then: an idle page sends nothing).
 */
export function useBackups() {
  const loaded = useLoad(() => api<BackupsInfo>('GET', '/api/hub/backups'));
  const running =
    loaded.data?.status.state === 'running' ||
    (loaded.data?.runs.some((run) => run.state === 'running') ?? false);
  const { reload } = loaded;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [running, reload]);
  return loaded;
}
