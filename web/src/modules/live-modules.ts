import { useEffect, useState } from 'preact/hooks';

/** A module's last problem (ModuleError in src/supervisor/supervisor.ts). */
export interface ModuleProblem {
  reason:
    | 'no_start_cmd'
    | 'missing_dependency'
    | 'port_held'
    | 'crashed'
    | 'unbound'
    | 'exited'
    | 'unreaped';
  message: string;
  holder?: { pid: number; command: string };
  exitCode?: number | null;
  signal?: string | null;
  lastLines?: { ts: number; stream: 'out' | 'err'; line: string }[];
  at: string;
}

/** One module of GET /api/modules/events, the fields shown here. */
export interface LiveModule {
  name: string;
  module: string | null;
  displayName: string | null;
  state: string;
  version: string;
  paths: string[];
  /** $PARACHUTE_HOME/<module>: what an uninstall with "also delete its data" removes. */
  dataDir: string | null;
  pid: number | null;
  port: number;
  uptimeMs: number | null;
  restarts: number;
  lastError: ModuleProblem | null;
  /** From /proc every 10 s; null when not running or where the hub cannot read it (macOS). */
  resources: {
    cpuPercent: number | null;
    rssBytes: number;
    history: { at: number; cpuPercent: number | null; rssBytes: number }[];
  } | null;
}

export interface LiveList {
  modules: LiveModule[] | null;
  /** When the last list arrived (performance.now()), to count uptime on from it. */
  receivedAt: number;
  /** Set while the stream is down (EventSource reconnects by itself). */
  error: string | undefined;
}

/** The installed modules, kept current by the hub's event stream (no refresh). */
export function useLiveModules(): LiveList {
  const [live, setLive] = useState<LiveList>({ modules: null, receivedAt: 0, error: undefined });
  useEffect(() => {
    const events = new EventSource('/api/modules/events');
    events.addEventListener('modules', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { modules: LiveModule[] };
      setLive({ modules: data.modules, receivedAt: performance.now(), error: undefined });
    });
    events.onerror = () =>
      setLive((current) => ({
        ...current,
        error: 'Lost the connection to the hub; reconnecting…',
      }));
    return () => events.close();
  }, []);
  return live;
}

/** Re-renders every second while `on`, for counters such as uptime. */
export function useTick(on: boolean): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}

/** 3 d 4 h, 2 h 5 min, 4 min 12 s, 9 s. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** 42.1 MB */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}
