import { Database } from 'bun:sqlite';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OperatorError } from '../platform/operator-error.ts';
import { HOME_PREFIX, MANIFEST_FILE, MANIFEST_SUM_FILE, Manifest, sha256 } from './manifest.ts';
import { type ReadEntry, readArchive } from './tar-stream.ts';

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
export async function importExport(
  file: string,
  home: string,
  options: { pathsAs?: string } = {},
): Promise<ImportResult> {
  refuseNonEmpty(home);
  // Written into a staging folder whose files then move up (the Fly launcher): paths name where they end up.
  const target = options.pathsAs ?? home;
  // Two streaming passes over the archive, rather than one into a temporary
  // folder: nothing at all is written until every byte has been checked, and
  // the disk needs room for the hub once, not twice. The second pass hashes
  // again, so an archive swapped between the passes is caught too.
  const manifest = await checkExport(file);
  const expected = new Map(manifest.files.map((f) => [HOME_PREFIX + f.path, f]));
  // Write only now; a failure past here removes what was written.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    let written = 0;
    await read(file, async (entry) => {
      const listed = expected.get(entry.name);
      if (!listed) return;
      written++;
      const path = join(home, listed.path);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const rewrite = manifest.home !== target && HOME_PATH_FILES.includes(listed.path);
      const hash = rewrite
        ? await writeRewritten(entry.body, path, manifest.home, target)
        : await writeStreamed(entry.body, path, listed.mode);
      if (hash !== listed.sha256) throw refused(file, `${listed.path} changed while importing`);
      chmodSync(path, listed.mode);
    });
    if (written !== expected.size) throw refused(file, 'it changed while importing');
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
    if (manifest.backup) markBackupRestored(home, manifest.backup, Date.parse(manifest.created_at));
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  return { manifest, files: manifest.files.length };
}

/** Reads and verifies an export without writing anything: its manifest, or an OperatorError. */
export async function checkExport(file: string): Promise<Manifest> {
  const seen = new Map<string, { size: number; sha256: string }>();
  const own = new Map<string, Uint8Array>();
  await read(file, async (entry) => {
    // Directories carry nothing; links and devices never come from an export.
    if (entry.type === 'directory') return;
    if (entry.type !== 'file') throw refused(file, `it holds ${entry.name}, which is not a file`);
    if (seen.has(entry.name) || own.has(entry.name)) {
      throw refused(file, `it holds ${entry.name} twice`);
    }
    if (entry.name === MANIFEST_FILE || entry.name === MANIFEST_SUM_FILE) {
      if (entry.size > MAX_MANIFEST) throw refused(file, `its ${entry.name} is implausibly large`);
      own.set(entry.name, await collect(entry.body));
      return;
    }
    const hash = new Bun.CryptoHasher('sha256');
    let size = 0;
    for await (const chunk of entry.body) {
      hash.update(chunk);
      size += chunk.length;
    }
    seen.set(entry.name, { size, sha256: hash.digest('hex') });
  });
  return verify(seen, own, file);
}

/** Bounds what is held in memory of an archive's own files (a manifest of 100k files is ~20 MB). */
const MAX_MANIFEST = 64 * 1024 * 1024;

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Streams an entry to a new file (never through an existing one); returns its SHA-256. */
async function writeStreamed(
  body: AsyncIterable<Uint8Array>,
  path: string,
  mode: number,
): Promise<string> {
  const hash = new Bun.CryptoHasher('sha256');
  async function* hashed() {
    for await (const chunk of body) {
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(hashed(), createWriteStream(path, { flags: 'wx', mode }));
  return hash.digest('hex');
}

/** services.json and the like (small text): paths under the old home now name the new one. */
async function writeRewritten(
  body: AsyncIterable<Uint8Array>,
  path: string,
  from: string,
  to: string,
): Promise<string> {
  const bytes = await collect(body);
  writeFileSync(path, new TextDecoder().decode(bytes).replaceAll(from, to), { flag: 'wx' });
  return sha256(bytes);
}

/** A home that holds anything is never written into: an import does not merge. */
export function refuseNonEmpty(home: string): void {
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

/** Streams the archive's entries to `onEntry`; a missing, truncated or corrupt file is refused. */
async function read(file: string, onEntry: (entry: ReadEntry) => Promise<void>): Promise<void> {
  if (!existsSync(file)) {
    throw new OperatorError(
      `${file} does not exist.`,
      'Give the path of a `parachute export` file.',
    );
  }
  try {
    await readArchive(file, onEntry);
  } catch (error) {
    if (error instanceof OperatorError) throw error;
    throw refused(
      file,
      `it is not a readable .tar.gz: cut short or corrupt (${(error as Error).message})`,
    );
  }
}

/** Checks the whole archive against its manifest; returns the manifest. Writes nothing. */
function verify(
  files: Map<string, { size: number; sha256: string }>,
  own: Map<string, Uint8Array>,
  file: string,
): Manifest {
  const bad = (what: string) => refused(file, what);
  const manifestBytes = own.get(MANIFEST_FILE);
  const sumBytes = own.get(MANIFEST_SUM_FILE);
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
    if (!listed.has(name)) throw bad(`it holds ${name}, which its manifest does not list`);
  }
  for (const entry of manifest.files) {
    const found = files.get(HOME_PREFIX + entry.path);
    if (!found) throw bad(`${entry.path} is listed in its manifest but missing from the archive`);
    if (found.size !== entry.size || found.sha256 !== entry.sha256) {
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

/**
 * A scheduled backup's own run was mid-way when its snapshot was taken: in
 * the restored hub it is the good backup it was proven to be, not one cut
 * short (which the next boot would report, and alert about).
 */
function markBackupRestored(
  home: string,
  backup: { run: number; object: string },
  takenAt: number,
): void {
  if (!existsSync(join(home, 'hub.db'))) return;
  const db = new Database(join(home, 'hub.db'), { create: false });
  try {
    db.run(
      `UPDATE backup_runs SET state = 'ok', stage = 'done', finished_at = ?, error = NULL, object = ?
       WHERE id = ? AND state = 'running'`,
      [takenAt, backup.object, backup.run],
    );
  } finally {
    db.close();
  }
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
