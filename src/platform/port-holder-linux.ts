import type { PortHolder } from './port-holder.ts';

const TCP_LISTEN = '0A';

/** Maps a listening port to its socket inode via /proc/net/tcp{,6}, then the inode to a pid via /proc/<pid>/fd. */
export async function findPortHolderLinux(port: number): Promise<PortHolder | null> {
  // Imported here so an idle hub never loads node:fs/promises (the bundler hoists static imports).
  const { readdir, readFile, readlink } = await import('node:fs/promises');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== TCP_LISTEN) continue;
      const hexPort = local.slice(local.lastIndexOf(':') + 1);
      if (Number.parseInt(hexPort, 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return null;
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      if (targets.has(link)) {
        const raw = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        return { pid: Number(entry), command: raw.split('\0').filter(Boolean).join(' ') };
      }
    }
  }
  return null;
}
