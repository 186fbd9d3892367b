/**
 * One "VM" of the fake Fly Machines API (test/helpers/fake-fly.ts): a real
 * local process standing in for a Fly machine's main process.
 *
 * The VM boundary: on Fly, stopping a machine signals its main process and,
 * after the stop timeout, the whole VM goes away with every process in it.
 * Here the main process leads its own process group (detached spawn), and
 * the fake keeps a snapshot of all its descendants (from /proc, refreshed
 * every second and at each stop), so processes that left the group (the
 * hub's modules and its upgrade watcher run detached) die with the VM too.
 * A descendant that was born and orphaned within one refresh can escape;
 * in practice the hub's children live much longer than that.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Subprocess } from 'bun';

export interface VmSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Console output (stdout and stderr) is appended here, like `fly logs`. */
  logFile: string;
}

/** Parent pid and start time (clock ticks since boot) of a process, or null when it is gone. */
function stat(pid: number): { ppid: number; start: string } | null {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ... starttime(22nd) ..."; comm may hold spaces.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] as string };
  } catch {
    return null;
  }
}

/** pid → start time of every process below `root` (not including it). */
export function descendantsOf(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    starts.set(Number(name), s.start);
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const found = new Map<number, string>();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    found.set(pid, starts.get(pid) as string);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** True while `pid` is the very process first seen with start time `start` (pids get reused). */
export function sameProcess(pid: number, start: string): boolean {
  return stat(pid)?.start === start;
}

function signal(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export class Vm {
  readonly proc: Subprocess;
  /** Resolves with the main process's exit code (or 128 + signal) once the VM is gone. */
  readonly exited: Promise<number>;
  /** Descendants seen so far: pid → start time, so a reused pid is never killed. */
  private known = new Map<number, string>();
  private readonly refresher: ReturnType<typeof setInterval>;

  constructor(spec: VmSpec) {
    const log = Bun.file(spec.logFile);
    this.proc = Bun.spawn(spec.argv, {
      cwd: spec.cwd,
      env: spec.env,
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      detached: true,
    });
    this.refresher = setInterval(() => this.refresh(), 1000);
    this.exited = this.proc.exited.then((code) => {
      clearInterval(this.refresher);
      // The main process ended: the VM ends with everything in it.
      this.killAll();
      return code ?? 128;
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Every process of this VM still alive (the orphan checks use it). */
  livePids(): number[] {
    this.refresh();
    const live = [...this.known].filter(([pid, start]) => sameProcess(pid, start));
    return [...(this.running() ? [this.pid] : []), ...live.map(([pid]) => pid)];
  }

  private running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Fly's stop: `sig` to the main process (its group here), then after
   * `timeoutMs` everything is killed. Resolves when the main process is gone.
   */
  async stop(sig: NodeJS.Signals, timeoutMs: number): Promise<number> {
    this.refresh();
    if (this.running()) signal(-this.pid, sig);
    const timer = setTimeout(() => this.killAll(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL to the main group and every known descendant's group; synchronous (process exit hook). */
  killAll(): void {
    this.refresh();
    if (this.running()) signal(-this.pid, 'SIGKILL');
    for (const [pid, start] of this.known) if (sameProcess(pid, start)) signal(pid, 'SIGKILL');
  }

  private refresh(): void {
    if (!this.running()) return;
    for (const [pid, start] of descendantsOf(this.pid)) this.known.set(pid, start);
  }
}
