import type { UiGate } from './uis.ts';

/** A module's mount on the hub's port, as the proxy routes it. */
export interface Mount {
  /** Mount path without a trailing slash, e.g. `/vault/default`. */
  prefix: string;
  /** services.json row name. */
  name: string;
  /** The module's short name (module.json `name`, else the row name): its host under the apps domain. */
  module: string;
  port: number;
  stripPrefix: boolean;
  websocket: boolean;
  /** The hub runs this module (it has a start command): its state decides 502/503 pages. */
  managed: boolean;
  /**
   * The hosted UIs under this mount that need a signed-in visitor or a
   * token, longest first (uis.ts), or null: nothing to check, the common case.
   */
  uis: UiGate[] | null;
}

/** Sorts mounts longest prefix first, so the most specific one wins (modules.md section 7). */
export function sortMounts(mounts: Mount[]): Mount[] {
  return [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The mount serving `pathname` (the prefix itself, or anything below it), or null. */
export function matchMount(mounts: Mount[], pathname: string): Mount | null {
  for (const m of mounts) {
    // Runs on every request: no `${prefix}/` string built per mount.
    const n = m.prefix.length;
    if (
      pathname.startsWith(m.prefix) &&
      (pathname.length === n || pathname.charCodeAt(n) === 47) // '/'
    ) {
      return m;
    }
  }
  return null;
}

/**
 * The path and query the module receives for a request's path and query
 * under this mount: with `stripPrefix`, the part after the mount (at least
 * `/`, so `/files?x=1` reaches the module as `/?x=1`).
 */
export function upstreamPath(mount: Mount, pathAndQuery: string): string {
  if (!mount.stripPrefix) return pathAndQuery;
  const rest = pathAndQuery.slice(mount.prefix.length);
  return rest === '' || rest.charCodeAt(0) === 63 ? `/${rest}` : rest; // 63: '?'
}
