import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_TOP } from '../backup/export.ts';
import { importExport } from '../backup/import.ts';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { operatorMessage } from '../platform/operator-error.ts';
import { record } from '../store/audit.ts';

/** Where POST /api/hub/import leaves a verified export for the launcher. */
export function stagedImportFile(home: string): string {
  return join(home, 'tmp', 'import', 'hub.tar.gz');
}

/** The outcome of the last staged import: <home>/run/import.json. */
export function importStatusFile(home: string): string {
  return join(home, 'run', 'import.json');
}

/**
 * Imports the staged export into the home the launcher's hub just left
 * (exit 76). The home keeps what an export never holds (hub-binary/, run/,
 * logs/, tmp/, the used-token marker); everything else is moved aside first
 * and put back if the import fails. The export is written into a staging
 * folder (the import never merges) and its files moved up. The origin the
 * old hub had saved is cleared, so that the hub takes https://$FLY_APP_NAME.fly.dev.
 * Returns true when the home now holds the imported hub.
 */
export async function importStaged(home: string, say: (message: string) => void): Promise<boolean> {
  const file = stagedImportFile(home);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = join(home, 'tmp', `pre-import-${stamp}`);
  const staging = join(home, 'tmp', `import-${stamp}`);
  const moved: string[] = [];
  const placed: string[] = [];
  const outcome = (state: 'succeeded' | 'failed', error: string | null) =>
    writeFileAtomic(
      importStatusFile(home),
      `${JSON.stringify({ state, at: new Date().toISOString(), error }, null, 2)}\n`,
      { mode: 0o600 },
    );
  try {
    if (!existsSync(file)) throw new Error(`no staged export at ${file}`);
    say(`Importing the staged export into ${home}`);
    mkdirSync(aside, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(home)) {
      if (SKIP_TOP.has(name)) continue;
      renameSync(join(home, name), join(aside, name));
      moved.push(name);
    }
    const { manifest, files } = await importExport(file, staging, { pathsAs: home });
    for (const name of readdirSync(staging)) {
      renameSync(join(staging, name), join(home, name));
      placed.push(name);
    }
    const cleared = takeFlyOrigin(home, { files, from: manifest.home, at: manifest.created_at });
    say(
      `Imported ${files} files (exported ${manifest.created_at} by hub ${manifest.hub_version})${cleared ? `; the saved origin ${cleared} was cleared` : ''}`,
    );
    rmSync(aside, { recursive: true, force: true });
    outcome('succeeded', null);
    return true;
  } catch (error) {
    const message = operatorMessage(error);
    say(`The import failed: ${message} The hub's previous home is put back.`);
    for (const name of placed) rmSync(join(home, name), { recursive: true, force: true });
    for (const name of moved) renameSync(join(aside, name), join(home, name));
    rmSync(aside, { recursive: true, force: true });
    outcome('failed', message);
    return false;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
}

/** The `iss` of the imported operator.token, read without verifying (the hub verifies it on use). */
function operatorTokenIssuer(home: string): string | null {
  try {
    const token = readFileSync(join(home, 'operator.token'), 'utf8').trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    return typeof payload.iss === 'string' ? payload.iss : null;
  } catch {
    return null;
  }
}

/**
 * Clears the imported hub's saved origin (the old host's) and records the
 * import in its audit log. Plain SQL on the settings and audit tables: the
 * launcher may be another version than the hub binary, and must not migrate
 * the database. Returns the origin it cleared, or null.
 */
function takeFlyOrigin(
  home: string,
  detail: { files: number; from: string; at: string },
): string | null {
  const db = new Database(join(home, 'hub.db'));
  try {
    const row = db.query("SELECT value FROM settings WHERE key = 'origin'").get() as {
      value: string;
    } | null;
    db.run("DELETE FROM settings WHERE key = 'origin'");
    // The old host's operator token stays good here (auth/operator-token.ts movedOperatorIssuer).
    const issuer = operatorTokenIssuer(home);
    if (issuer) {
      db.run(
        "INSERT INTO settings (key, value, updated_at) VALUES ('moved_from', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [issuer, Date.now()],
      );
    }
    record(db, {
      actor: { id: null, name: 'operator' },
      ip: 'launcher',
      action: 'hub.import',
      target: 'hub',
      outcome: 'success',
      detail: { files: detail.files, from_home: detail.from, exported_at: detail.at, via: 'fly' },
    });
    return row?.value ?? null;
  } finally {
    db.close();
  }
}
