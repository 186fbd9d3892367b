import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/**
 * Overwrites the value of `name` with NUL bytes in this process's original
 * environment block, and returns whether it is gone from there (true when it
 * was never set). That block is the strings execve(2) copied onto the stack:
 * what /proc/<pid>/environ and `ps e` show to every process of the same user.
 * Deleting from process.env does not touch it, and Bun cannot re-exec itself
 * without the variable, so the hub writes over the bytes through
 * /proc/self/mem (Linux only; elsewhere this returns false).
 */
export function wipeFromEnviron(name: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const [start, end] = environBlock();
    const block = Buffer.alloc(end - start);
    const mem = openSync('/proc/self/mem', 'r+');
    try {
      readSync(mem, block, 0, block.length, start);
      for (const [from, to] of valueRanges(block, name)) {
        writeSync(mem, Buffer.alloc(to - from), 0, to - from, start + from);
      }
    } finally {
      closeSync(mem);
    }
    return valueRanges(readFileSync('/proc/self/environ'), name).length === 0;
  } catch {
    return false;
  }
}

/** Start and end addresses of the environment block: fields 50 and 51 of /proc/self/stat (proc(5)). */
function environBlock(): [number, number] {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  // Split after the ")" that closes the command name, which may hold spaces: field 3 comes first.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!(start > 0 && end > start)) throw new Error('no environment block in /proc/self/stat');
  return [start, end];
}

/** Where the non-empty values of `name=` lie in a NUL-separated block, as [from, to) offsets. */
function valueRanges(block: Buffer, name: string): [number, number][] {
  const prefix = Buffer.from(`${name}=`);
  const ranges: [number, number][] = [];
  let at = 0;
  while (at < block.length) {
    const nul = block.indexOf(0, at);
    const next = nul === -1 ? block.length : nul;
    const from = at + prefix.length;
    if (next > from && block.subarray(at, from).equals(prefix)) ranges.push([from, next]);
    at = next + 1;
  }
  return ranges;
}
