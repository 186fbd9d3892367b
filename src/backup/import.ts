import { Database } from 'bun:sqlite';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { HOME_PREFIX, MANIFEST_FILE, MANIFEST_SUM_FILE, Manifest, sha256 } from './manifest.ts';

/** Text files that record absolute paths under the old home (installDir, file: sources). */
const HOME_PATH_FILES = ['services.json', 'modules/package.json', 'modules/bun.lock'];

export interface ImportResult {
  manifest: Manifest;
  files: number;
}

/**
 * Restores an export into `home`, which must be empty or absent. Everything
 * is checked before anything is written: the archive reads to its end, the
 * manifest matches its checksum, the archive holds exactly the files the
 * manifest lists, and each has its recorded size and SHA-256. Only then
 * are files written (with their recorded modes), paths under the old home
 * moved to the new one, and every database checked with integrity_check.
 */
export async function importExport(file: string, home: string): Promise<ImportResult> {
  refuseNonEmpty(home);
  const files = await readArchive(file);
  const manifest = verify(files, file);
  // Write only now; a failure past here removes what was written.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    for (const entry of manifest.files) {
      const path = join(home, entry.path);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      let bytes = files.get(HOME_PREFIX + entry.path) as Uint8Array;
      if (manifest.home !== home && HOME_PATH_FILES.includes(entry.path)) {
        bytes = new TextEncoder().encode(
          new TextDecoder().decode(bytes).replaceAll(manifest.home, home),
        );
      }
      await Bun.write(path, bytes);
      chmodSync(path, entry.mode);
    }
    for (const link of manifest.symlinks) {
      const path = join(home, link.path);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      symlinkSync(link.target, path);
    }
    for (const entry of manifest.files.filter((f) => f.kind === 'sqlite')) {
      const result = integrityCheck(join(home, entry.path));
      if (result !== 'ok')
        throw refused(file, `${entry.path} fails SQLite's integrity_check (${result})`);
    }
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  return { manifest, files: manifest.files.length };
}

/** Reads and verifies an export without writing anything: its manifest, or an OperatorError. */
export async function checkExport(file: string): Promise<Manifest> {
  return verify(await readArchive(file), file);
}

/** A home that holds anything is never written into: an import does not merge. */
function refuseNonEmpty(home: string): void {
  if (!existsSync(home)) return;
  let entries: string[];
  try {
    entries = readdirSync(home);
  } catch (error) {
    throw new OperatorError(
      `cannot use ${home} as PARACHUTE_HOME: ${(error as Error).message}`,
      'Give an empty folder (or one that does not exist yet) as PARACHUTE_HOME.',
    );
  }
  if (entries.length > 0) {
    throw new OperatorError(
      `PARACHUTE_HOME=${home} is not empty (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); an import only goes into an empty home, it never merges.`,
      'Import into a new folder (PARACHUTE_HOME=/new/folder parachute import <file>), or move this one aside first. Nothing was changed.',
    );
  }
}

/** Every file of the archive with its bytes; a truncated or corrupt gzip or tar fails here. */
async function readArchive(file: string): Promise<Map<string, Uint8Array>> {
  const source = Bun.file(file);
  if (!(await source.exists())) {
    throw new OperatorError(
      `${file} does not exist.`,
      'Give the path of a `parachute export` file.',
    );
  }
  try {
    const out = new Map<string, Uint8Array>();
    for (const [name, entry] of await new Bun.Archive(await source.bytes()).files()) {
      out.set(name, await entry.bytes());
    }
    return out;
  } catch (error) {
    throw refused(
      file,
      `it is not a readable .tar.gz: cut short or corrupt (${(error as Error).message})`,
    );
  }
}

/** Checks the whole archive against its manifest; returns the manifest. Writes nothing. */
function verify(files: Map<string, Uint8Array>, file: string): Manifest {
  const bad = (what: string) => refused(file, what);
  const manifestBytes = files.get(MANIFEST_FILE);
  const sumBytes = files.get(MANIFEST_SUM_FILE);
  if (!manifestBytes || !sumBytes) throw bad('it has no manifest, so it is not a parachute export');
  const text = new TextDecoder().decode(manifestBytes);
  if (sha256(text) !== new TextDecoder().decode(sumBytes).trim()) {
    throw bad('its manifest does not match manifest.sha256: it was edited or damaged');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('its manifest is not valid JSON');
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    throw bad(`its manifest is not one this hub reads (${parsed.error.issues[0]?.message})`);
  }
  const manifest = parsed.data;
  const listed = new Set(manifest.files.map((f) => HOME_PREFIX + f.path));
  for (const name of files.keys()) {
    if (name === MANIFEST_FILE || name === MANIFEST_SUM_FILE) continue;
    if (!listed.has(name)) throw bad(`it holds ${name}, which its manifest does not list`);
  }
  for (const entry of manifest.files) {
    const bytes = files.get(HOME_PREFIX + entry.path);
    if (!bytes) throw bad(`${entry.path} is listed in its manifest but missing from the archive`);
    if (bytes.length !== entry.size || sha256(bytes) !== entry.sha256) {
      throw bad(`${entry.path} does not match its checksum in the manifest`);
    }
  }
  for (const link of manifest.symlinks) {
    // A link may only point inside the home (node_modules/.bin entries do).
    const resolved = normalize(join(dirname(link.path), link.target));
    if (link.target.startsWith('/') || resolved.startsWith('..')) {
      throw bad(`the link ${link.path} points outside the home (${link.target})`);
    }
  }
  return manifest;
}

function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.query('PRAGMA integrity_check').all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

function refused(file: string, what: string): OperatorError {
  return new OperatorError(
    `refusing to import ${file}: ${what}.`,
    'Nothing was written. Use another copy of the export, or export the hub again.',
  );
}
