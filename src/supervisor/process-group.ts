import { readdirSync, readFileSync } from 'node:fs';

/**
 * Sends `signal` to the whole process group led by `pgid`, so a wrapper
 * (`sh -c`, `npm exec`) and its grandchildren all get it. False when the
 * group no longer exists.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while any process of the group is alive. Zombies do not count: they
 * hold no port and no memory, and when the hub's children were adopted by
 * an init that reaps slowly (or never, in a container without one), waiting
 * for them would stall boot and shutdown for nothing.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
  return process.platform === 'linux' ? liveMemberOnLinux(pgid) : true;
}

function liveMemberOnLinux(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the ")" closing the command name: state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/**
 * The kernel's start time of `pid` (clock ticks since boot, /proc/<pid>/stat
 * field 22), or null. With the pid it identifies a process across pid reuse.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** How the supervisor reaches process groups; tests wrap it to watch or stall them. */
export interface ProcessGroups {
  signal(pgid: number, signal: NodeJS.Signals): boolean;
  alive(pgid: number): boolean;
}

/** The real thing: kill(2) on the group, and the liveness check above. */
export const processGroups: ProcessGroups = { signal: signalGroup, alive: groupAlive };
