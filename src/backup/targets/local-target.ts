import { randomBytes } from 'node:crypto';
import { constants, statfsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { OperatorError } from '../../platform/operator-error.ts';
import { BACKUP_NAME, type BackupObject, type BackupTarget, checkName } from './target.ts';

/** A copy still being written: `<name>.partial-<hex>`. Never listed, removed when a day old. */
const PARTIAL = /\.partial-[0-9a-f]+$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Backups in a folder on this machine (a second disk, a NAS mount). A copy
 * is written under a temporary name, fsynced and then renamed, so a run
 * killed halfway never leaves something that looks like a good backup.
 */
export class LocalTarget implements BackupTarget {
  constructor(readonly folder: string) {
    if (!isAbsolute(folder))
      throw new OperatorError(
        `the backup folder "${folder}" is not an absolute path`,
        'Give the full path, starting with /.',
      );
  }

  describe(): string {
    return `folder ${this.folder}`;
  }

  async put(name: string, file: string): Promise<number> {
    checkName(name);
    await this.ensureFolder();
    const partial = join(this.folder, `${name}.partial-${randomBytes(6).toString('hex')}`);
    try {
      await copyFile(file, partial, constants.COPYFILE_EXCL);
      await chmod(partial, 0o600);
      await fsync(partial, 'r+');
      await rename(partial, join(this.folder, name));
      // The rename itself survives a power cut (best effort: some mounts refuse).
      await fsync(this.folder, 'r').catch(() => {});
      return (await stat(join(this.folder, name))).size;
    } catch (error) {
      await rm(partial, { force: true });
      throw this.explain(error, 'write to', await sizeOf(file));
    }
  }

  async get(name: string, dest: string): Promise<number> {
    checkName(name);
    const from = join(this.folder, name);
    try {
      await copyFile(from, dest, constants.COPYFILE_EXCL);
      await chmod(dest, 0o600);
      return (await stat(dest)).size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') await rm(dest, { force: true });
      if (code === 'ENOENT' && !(await exists(from)))
        throw new OperatorError(
          `the backup ${name} is not in the folder ${this.folder}`,
          'It was removed or the folder changed; list the folder to see what is there.',
        );
      throw this.explain(error, 'read from');
    }
  }

  async list(): Promise<BackupObject[]> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.explain(error, 'read');
    }
    const found: BackupObject[] = [];
    for (const name of names) {
      const isBackup = BACKUP_NAME.test(name);
      if (!isBackup && !PARTIAL.test(name)) continue;
      const info = await stat(join(this.folder, name)).catch(() => null);
      if (!info?.isFile()) continue;
      if (isBackup) found.push({ name, size: info.size, modified: info.mtimeMs });
      // A copy a killed run left behind; a day's grace so a run still
      // writing (another process, a slow disk) is never cut short.
      else if (Date.now() - info.mtimeMs > DAY_MS)
        await rm(join(this.folder, name), { force: true }).catch(() => {});
    }
    return found.sort((a, b) => a.modified - b.modified || a.name.localeCompare(b.name));
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    try {
      await rm(join(this.folder, name), { force: true });
    } catch (error) {
      throw this.explain(error, 'delete from');
    }
  }

  async probe(): Promise<void> {
    await this.ensureFolder();
    const path = join(this.folder, `.parachute-probe-${randomBytes(6).toString('hex')}`);
    const content = randomBytes(32);
    try {
      await writeFile(path, content, { mode: 0o600, flag: 'wx' });
      await fsync(path, 'r+');
      if (!content.equals(await readFile(path)))
        throw new OperatorError(
          `the backup folder ${this.folder} returned different bytes than were written`,
          'Check the disk or network mount behind it.',
        );
    } catch (error) {
      throw this.explain(error, 'write to');
    } finally {
      await rm(path, { force: true }).catch(() => {});
    }
  }

  private async ensureFolder(): Promise<void> {
    try {
      await mkdir(this.folder, { recursive: true, mode: 0o700 });
      if (!(await stat(this.folder)).isDirectory())
        throw Object.assign(new Error(), { code: 'ENOTDIR' });
    } catch (error) {
      throw this.explain(error, 'create');
    }
  }

  /** An fs error as what the operator must do about it. */
  private explain(error: unknown, doing: string, needed?: number): unknown {
    if (error instanceof OperatorError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    const where = `the backup folder ${this.folder}`;
    switch (code) {
      case 'ENOSPC':
      case 'EDQUOT': {
        const need = needed ? `; this backup needs ${formatBytes(needed)}` : '';
        return new OperatorError(
          `${where} is full (${formatBytes(freeBytes(this.folder))} free${need})`,
          'Free space there, lower the number of backups kept, or choose a folder on a bigger disk.',
        );
      }
      case 'EACCES':
      case 'EPERM':
        return new OperatorError(
          `the hub may not ${doing} ${where} (permission denied)`,
          `Make it writable by the user the hub runs as (uid ${process.getuid?.() ?? '?'}), or choose another folder.`,
        );
      case 'EROFS':
        return new OperatorError(
          `${where} is on a read-only file system`,
          'Mount it read-write, or choose another folder.',
        );
      case 'ENOTDIR':
      case 'EEXIST':
        return new OperatorError(
          `${where} is not a folder (something else has that path)`,
          'Choose a folder path.',
        );
      case 'EIO':
        return new OperatorError(
          `the disk behind ${where} failed to ${doing} it (I/O error)`,
          'Check the disk or network mount, or choose another folder.',
        );
      default:
        return error;
    }
  }
}

async function fsync(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => null))?.size;
}

function freeBytes(folder: string): number {
  try {
    const fs = statfsSync(folder);
    return fs.bavail * fs.bsize;
  } catch {
    return 0;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
