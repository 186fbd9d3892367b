import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { groupAlive, processStartTime, signalGroup } from './process-group.ts';

/** One child the hub started: enough to recognise it after the hub died. */
export interface ChildRecord {
  name: string;
  pid: number;
  /** The child leads its own group (detached spawn), so pgid === pid. */
  pgid: number;
  /** /proc start time of pid, so a reused pid is never mistaken for ours. */
  startTime: string | null;
}

/**
 * $PARACHUTE_HOME/run/children.json (modules.md section 5, orphans): updated
 * on every spawn and exit, read at boot to clean up after a hub that died
 * without stopping its children (SIGKILL, OOM, power loss of the unit).
 */
export class ChildrenFile {
  private readonly records = new Map<string, ChildRecord>();

  constructor(readonly path: string) {}

  add(record: ChildRecord): void {
    this.records.set(record.name, record);
    this.save();
  }

  delete(name: string, pid: number): void {
    if (this.records.get(name)?.pid === pid) {
      this.records.delete(name);
      this.save();
    }
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    writeFileAtomic(
      this.path,
      `${JSON.stringify({ children: [...this.records.values()] }, null, 2)}\n`,
      { mode: 0o600 },
    );
  }

  /**
   * Terminates every recorded group that is still ours: SIGTERM, up to
   * `graceMs`, then SIGKILL. A pid that now belongs to another program
   * (different start time) is left alone. Returns what it reaped.
   */
  async reapOrphans(graceMs: number): Promise<ChildRecord[]> {
    if (!existsSync(this.path)) return [];
    let recorded: ChildRecord[] = [];
    try {
      recorded =
        (JSON.parse(readFileSync(this.path, 'utf8')) as { children: ChildRecord[] }).children ?? [];
    } catch {
      return [];
    }
    const ours = recorded.filter((r) => {
      const now = processStartTime(r.pid);
      // Leader alive: it must be the same process. Leader gone: its group id
      // cannot be reused while members live, so a live group is still ours.
      return now !== null ? now === r.startTime : groupAlive(r.pgid);
    });
    for (const r of ours) signalGroup(r.pgid, 'SIGTERM');
    const deadline = performance.now() + graceMs;
    while (ours.some((r) => groupAlive(r.pgid)) && performance.now() < deadline)
      await Bun.sleep(50);
    for (const r of ours) if (groupAlive(r.pgid)) signalGroup(r.pgid, 'SIGKILL');
    while (ours.some((r) => groupAlive(r.pgid)) && performance.now() < deadline + 2000)
      await Bun.sleep(20);
    this.save();
    return ours;
  }
}
