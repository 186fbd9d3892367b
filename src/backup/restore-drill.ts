import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { decryptFile } from './age-file.ts';
import type { DrillResult } from './backup-runs.ts';
import { importExport } from './import.ts';
import { fileSha256 } from './manifest.ts';
import { countRows } from './row-counts.ts';

export interface DrillInput {
  /** The archive as read back from the target (age-encrypted). */
  sealed: string;
  keys: { passphrase?: string; identities?: string[] };
  /** SHA-256 of the archive as written, before encryption. */
  archiveSha256: string;
  /** A private folder the drill may fill; the caller removes it. */
  scratch: string;
}

export type DrillOutcome = DrillResult & { problem: string; hint: string };

const HINT =
  'This archive was not kept. Check the target storage, then run a backup again from the Backup page.';

/**
 * Proves an archive restores (issue 18, "restore drill"): decrypts what the
 * target gave back, checks it is byte for byte the archive that was written,
 * restores it into a scratch home with the same code as `parachute import`
 * (manifest checksums of every file, PRAGMA integrity_check of every
 * database), then counts each restored table's rows against the counts taken
 * from the live hub at the snapshot's instant.
 */
export async function restoreDrill(input: DrillInput): Promise<DrillOutcome> {
  const started = performance.now();
  const result = (fields: Partial<DrillOutcome>): DrillOutcome => ({
    ok: false,
    ms: Math.round(performance.now() - started),
    databases: 0,
    tables: 0,
    rows: 0,
    problem: '',
    hint: HINT,
    ...fields,
  });
  const opened = join(input.scratch, 'readback.tar.gz');
  const home = join(input.scratch, 'drill-home');
  try {
    await decryptFile(input.sealed, opened, input.keys);
    rmSync(input.sealed, { force: true });
    if ((await fileSha256(opened)) !== input.archiveSha256) {
      return result({
        problem:
          'the archive read back from the target is not the one written (its SHA-256 differs)',
      });
    }
    const { manifest } = await importExport(opened, home);
    rmSync(opened, { force: true });
    let databases = 0;
    let tables = 0;
    let rows = 0;
    for (const file of manifest.files) {
      if (file.kind !== 'sqlite' || !file.rows) continue;
      databases++;
      const restored = countRows(join(home, file.path), Object.keys(file.rows));
      for (const [table, expected] of Object.entries(file.rows)) {
        tables++;
        rows += expected;
        if (restored[table] !== expected) {
          return result({
            databases,
            tables,
            rows,
            problem: `${file.path} restored with ${restored[table] ?? 'no'} rows in ${table}, but the hub had ${expected} when the backup was taken`,
          });
        }
      }
    }
    return result({ ok: true, databases, tables, rows });
  } catch (error) {
    if (error instanceof OperatorError) {
      return result({ problem: `the restore drill failed: ${error.message.replace(/\.$/, '')}` });
    }
    throw error;
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(opened, { force: true });
  }
}
