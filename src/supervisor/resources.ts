import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a module's process group. */
export interface ResourceSample {
  /** Unix milliseconds. */
  at: number;
  /** Share of one CPU since the previous sample, in percent (null for the first). */
  cpuPercent: number | null;
  /** Resident memory of every process in the group, in bytes. */
  rssBytes: number;
}

/** What the API shows: the latest reading and the last hour of them. */
export interface ModuleResources {
  cpuPercent: number | null;
  rssBytes: number;
  history: ResourceSample[];
}

export const SAMPLE_MS = 10_000;
/** An hour of 10 s samples. */
export const KEEP_SAMPLES = 360;
// Linux reports CPU time in clock ticks (USER_HZ, 100 on every mainstream
// build) and RSS in pages (4 KiB on x86-64 and most arm64 kernels).
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface GroupTotals {
  ticks: number;
  rssBytes: number;
}

/**
 * Samples CPU and memory of each module's process group from /proc every
 * SAMPLE_MS into a bounded ring per module. Where there is no /proc (macOS)
 * it records nothing and the API shows no figures.
 */
export class ResourceSampler {
  private readonly rings = new Map<string, ResourceSample[]>();
  private readonly last = new Map<string, { at: number; ticks: number; pgid: number }>();
  private timer: Timer | null = null;

  constructor(
    /** Each module with a process: its name and its group id (the child's pid). */
    private readonly groups: () => { name: string; pgid: number }[],
    private readonly onSample: () => void,
    private readonly procDir = '/proc',
    private readonly clock: () => number = Date.now,
  ) {}

  start(intervalMs = SAMPLE_MS): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  of(name: string): ModuleResources | null {
    const ring = this.rings.get(name);
    const latest = ring?.at(-1);
    if (!ring || !latest) return null;
    return { cpuPercent: latest.cpuPercent, rssBytes: latest.rssBytes, history: ring };
  }

  /** Reads /proc once and appends a sample for every module that has a process. */
  sample(): void {
    const wanted = this.groups();
    const totals = this.read(new Set(wanted.map((g) => g.pgid)));
    if (!totals) return;
    const now = this.clock();
    const live = new Set<string>();
    for (const { name, pgid } of wanted) {
      const group = totals.get(pgid);
      if (!group) continue;
      live.add(name);
      const before = this.last.get(name);
      // A restarted module is a new group: its CPU counts from zero again.
      const cpuPercent =
        before && before.pgid === pgid && now > before.at
          ? Math.max(
              0,
              ((group.ticks - before.ticks) / TICKS_PER_SECOND / ((now - before.at) / 1000)) * 100,
            )
          : null;
      this.last.set(name, { at: now, ticks: group.ticks, pgid });
      const ring = this.rings.get(name) ?? [];
      ring.push({ at: now, cpuPercent, rssBytes: group.rssBytes });
      if (ring.length > KEEP_SAMPLES) ring.splice(0, ring.length - KEEP_SAMPLES);
      this.rings.set(name, ring);
    }
    // Stopped or uninstalled: no current figures (the ring of an uninstalled one goes too).
    for (const name of this.last.keys()) if (!live.has(name)) this.last.delete(name);
    for (const name of this.rings.keys()) {
      if (!wanted.some((g) => g.name === name)) this.rings.delete(name);
    }
    this.onSample();
  }

  /** utime+stime and RSS summed over the processes of each wanted group; null without /proc. */
  private read(pgids: Set<number>): Map<number, GroupTotals> | null {
    let entries: string[];
    try {
      entries = readdirSync(this.procDir);
    } catch {
      return null;
    }
    const totals = new Map<number, GroupTotals>();
    if (pgids.size === 0) return totals;
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`${this.procDir}/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgid = Number(fields[2]);
      if (!pgids.has(pgid)) continue;
      const group = totals.get(pgid) ?? { ticks: 0, rssBytes: 0 };
      group.ticks += Number(fields[11]) + Number(fields[12]);
      group.rssBytes += Number(fields[21]) * PAGE_BYTES;
      totals.set(pgid, group);
    }
    return totals;
  }
}
