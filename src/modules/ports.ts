import type { ServiceRow } from './schema.ts';

/** The hub's own port; never given to a module. */
export const HUB_PORT = 1939;
/** Ports existing modules are known to expect (modules.md section 2). */
export const CANONICAL_PORTS: Record<string, number> = { vault: 1940, scribe: 1943, surface: 1946 };
const RANGE_START = 1940;
const RANGE_END = 1949;

/** True when nothing listens on `port` on loopback: we can bind it ourselves. */
export function portIsFree(port: number, hostname = '127.0.0.1'): boolean {
  try {
    const probe = Bun.listen({ hostname, port, socket: { data() {} } });
    probe.stop(true);
    return true;
  } catch {
    return false;
  }
}

/**
 * The port a newly installed module gets: its canonical port, else the one
 * its manifest prefers, else the first free one in 1940-1949, else the first
 * free one above (with a warning). Free means no row claims it and nothing
 * listens on it.
 */
export function assignPort(
  module: { name: string; port: number },
  rows: ServiceRow[],
  isFree: (port: number) => boolean = portIsFree,
): { port: number; warning?: string } {
  const taken = new Set(rows.map((r) => r.port));
  const usable = (p: number) => p !== HUB_PORT && !taken.has(p) && isFree(p);
  const canonical = CANONICAL_PORTS[module.name];
  if (canonical !== undefined && usable(canonical)) return { port: canonical };
  if (usable(module.port)) return { port: module.port };
  for (let p = RANGE_START; p <= RANGE_END; p++) if (usable(p)) return { port: p };
  for (let p = RANGE_END + 1; p < 65536; p++) {
    if (usable(p)) {
      return {
        port: p,
        warning: `ports ${RANGE_START}-${RANGE_END} are all in use; ${module.name} gets ${p}`,
      };
    }
  }
  throw new Error('no free TCP port left');
}
