import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The hub's own scratch in tmp/ (export-* staging folders and archives,
 * backup-* run folders) left by a hub killed mid-way. Removed at boot,
 * before anything can be using them; modules' own temp files are left alone.
 */
export function removeScratch(home: string): void {
  const tmp = join(home, 'tmp');
  if (!existsSync(tmp)) return;
  for (const name of readdirSync(tmp)) {
    if (name.startsWith('export-') || name.startsWith('backup-')) {
      rmSync(join(tmp, name), { recursive: true, force: true });
    }
  }
}
