import type { ModuleInfo } from './hub-client.ts';

// Keeps a status line within a wide terminal; the full text is in `status --json`.
const LAST_ERROR_WIDTH = 60;

/** A duration as people read it: `12s`, `5m`, `3h12m`, `2d4h`; `-` when unknown. */
export function formatUptime(ms: number | null): string {
  if (ms === null || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** `text` cut to `width` characters, with an ellipsis when cut. */
export function truncate(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}

/** The module table of `parachute status`: a header row and one row per module, columns padded. */
export function moduleTable(modules: ModuleInfo[]): string {
  const rows = [
    ['NAME', 'STATE', 'PID', 'PORT', 'UPTIME', 'RESTARTS', 'VERSION', 'LAST ERROR'],
    ...modules.map((m) => [
      m.module ?? m.name,
      m.state,
      m.pid === null ? '-' : String(m.pid),
      String(m.port),
      formatUptime(m.uptimeMs),
      String(m.restarts),
      m.version,
      m.lastError ? truncate(m.lastError.message, LAST_ERROR_WIDTH) : '-',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  // The last column is not padded, so lines carry no trailing spaces.
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}
