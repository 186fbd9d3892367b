import type { Database } from 'bun:sqlite';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError, operatorMessage } from '../platform/operator-error.ts';
import { type BackupEncryption, encryptFile } from './age-file.ts';
import type { StoredBackupConfig } from './backup-config.ts';
import { type BackupRun, backupRuns, type RunStage } from './backup-runs.ts';
import { writeExport } from './export.ts';
import { fileSha256 } from './manifest.ts';
import { restoreDrill } from './restore-drill.ts';
import { applyRetention } from './retention.ts';
import { type BackupTarget, backupName } from './targets/target.ts';

export interface BackupRunDeps {
  db: Database;
  home: string;
  config: StoredBackupConfig;
  target: BackupTarget;
}

/**
 * One backup, start to finish (deploy.md, "Scheduled backups"): a
 * consistent export, encrypted with age, written to the target, then read
 * back from the target and restored into a scratch home by the restore
 * drill. Only a run whose drill passed is `ok`; retention then removes
 * archives past the count or age, never the one just proven. Each stage is
 * recorded as it starts, so a failure says where; an archive whose drill
 * failed is removed from the target, so nothing there passes for good.
 */
export async function runBackup(deps: BackupRunDeps, run: BackupRun): Promise<BackupRun> {
  const { db, home, config, target } = deps;
  const scratch = join(home, 'tmp', `backup-${run.id}`);
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  const object = backupName(new Date(run.started_at));
  let stage = 'snapshot' as RunStage;
  let uploaded = false;
  const enter = (next: RunStage) => {
    stage = next;
    backupRuns.update(db, run.id, { stage });
  };
  try {
    const archive = join(scratch, 'hub.tar.gz');
    const exported = await writeExport(home, archive, { backup: { run: run.id, object } });
    const archiveSha = await fileSha256(archive);
    backupRuns.update(db, run.id, {
      bytes: exported.bytes,
      files: exported.files,
      databases: exported.databases,
    });

    enter('encrypt');
    const sealed = join(scratch, 'hub.tar.gz.age');
    const storedBytes = await encryptFile(archive, sealed, encryptionOf(config));
    rmSync(archive, { force: true });

    enter('upload');
    backupRuns.update(db, run.id, { object, stored_bytes: storedBytes });
    uploaded = true;
    await target.put(object, sealed);
    rmSync(sealed, { force: true });

    enter('download');
    // Named as in the target, so a failure's message names the archive people would look for.
    const fetched = join(scratch, object);
    const fetchedBytes = await target.get(object, fetched);
    if (fetchedBytes !== storedBytes) {
      throw new OperatorError(
        `the target gave back ${fetchedBytes} bytes of ${object}, but ${storedBytes} were written`,
        `Check the storage at ${target.describe()}; this archive was not kept.`,
      );
    }

    enter('drill');
    const drill = await restoreDrill({
      sealed: fetched,
      keys: drillKeys(config),
      archiveSha256: archiveSha,
      scratch,
    });
    backupRuns.update(db, run.id, { drill });
    if (!drill.ok) throw new OperatorError(drill.problem, drill.hint);

    enter('prune');
    await applyRetention(db, target, config.retention, run.id);

    enter('done');
    backupRuns.update(db, run.id, { state: 'ok', finished_at: Date.now() });
  } catch (error) {
    // A failed prune leaves a proven archive; any earlier failure leaves none
    // that may be kept. One the target would not delete now stays named on
    // the run, and retention removes it once the target answers again.
    const unproven = uploaded && stage !== 'prune';
    const removed =
      unproven &&
      (await target.remove(object).then(
        () => true,
        () => false,
      ));
    backupRuns.update(db, run.id, {
      state: 'failed',
      finished_at: Date.now(),
      error: operatorMessage(error),
      ...(removed ? { object: null } : {}),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return backupRuns.get(db, run.id) as BackupRun;
}

function encryptionOf(config: StoredBackupConfig): BackupEncryption {
  return config.encryption.kind === 'passphrase'
    ? { kind: 'passphrase', passphrase: config.encryption.passphrase }
    : {
        kind: 'recipient',
        recipient: config.encryption.recipient,
        drillIdentity: config.drill_identity,
      };
}

/** What the drill decrypts with: the passphrase, or the hub's own identity (never the operator's key). */
function drillKeys(config: StoredBackupConfig): { passphrase?: string; identities?: string[] } {
  return config.encryption.kind === 'passphrase'
    ? { passphrase: config.encryption.passphrase }
    : { identities: [config.drill_identity] };
}
