/** A module's mount on the hub's port, as the proxy routes it. */
export interface Mount {
  /** Mount path without a trailing slash, e.g. `/vault/default`. */
  prefix: string;
  /** services.json row name. */
  name: string;
  port: number;
  stripPrefix: boolean;
  websocket: boolean;
  /** The hub runs this module (it has a start command): its state decides 502/503 pages. */
  managed: boolean;
}

/** Sorts mounts longest prefix first, so the most specific one wins (modules.md section 7). */
export function sortMounts(mounts: Mount[]): Mount[] {
  return [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The mount serving `pathname` (the prefix itself, or anything below it), or null. */
export function matchMount(mounts: Mount[], pathname: string): Mount | null {
  for (const m of mounts) {
    if (pathname === m.prefix || pathname.startsWith(`${m.prefix}/`)) return m;
  }
  return null;
}

/** The path the module receives: with `stripPrefix`, the part after the mount (at least `/`). */
export function upstreamPath(mount: Mount, pathname: string): string {
  if (!mount.stripPrefix) return pathname;
  return pathname.slice(mount.prefix.length) || '/';
}
