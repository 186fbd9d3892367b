import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers see the old content or the new, never a torn
 * mix, even if the hub is killed or the machine loses power mid-write:
 * write a sibling temp file, fsync it, rename it over the target, fsync the
 * directory so the rename itself is durable. On any failure (a full disk
 * included) the temp file is removed and the target is left untouched.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: {
    mode?: number;
    /**
     * Asked after the new content is on disk, just before it replaces the
     * target; false drops it and leaves the target as it is. For files
     * other processes rewrite too: the check narrows the window in which
     * their write is lost from the whole write and fsync to a stat.
     */
    stillCurrent?: () => boolean;
  } = {},
): boolean {
  const mode = options.mode ?? 0o644;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (options.stillCurrent && !options.stillCurrent()) {
      unlinkSync(tmp);
      return false;
    }
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may never have been created.
    }
    throw error;
  }
  fsyncDirectory(dir);
  return true;
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename already happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
