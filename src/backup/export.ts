import { randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { COMMIT, VERSION } from '../version.ts';
import {
  FORMAT,
  FORMAT_VERSION,
  HOME_PREFIX,
  MANIFEST_FILE,
  MANIFEST_SUM_FILE,
  type Manifest,
  type ManifestFile,
  type ManifestLink,
  sha256,
} from './manifest.ts';
import { type ArchiveWriter, writeArchive } from './tar-stream.ts';

/**
 * What is not exported: the live hub's pid, port and lock (run/), its logs,
 * scratch space (tmp/, also where exports are staged), Bun's download cache,
 * and the command shims (bin/), which every boot writes for its own binary.
 * On Fly: the hub binary on the volume (hub-binary/, the launcher's) and the
 * marker of a used import token (both belong to that machine, not the hub).
 */
export const SKIP_TOP = new Set([
  'run',
  'logs',
  'tmp',
  'cache',
  'bin',
  'hub-binary',
  'import-token.used',
]);
/** SQLite's side files: the consistent copy of their database replaces them. */
const SIDE_FILE = /-(wal|shm|journal)$/;
const SQLITE_HEADER = 'SQLite format 3\0';

export interface ExportResult {
  files: number;
  bytes: number;
  databases: number;
}

/**
 * Writes an export of `home` to `dest` (modules.md / deploy.md, "Export and
 * import") while the hub may be serving and modules writing. Every SQLite
 * database (found by its header, whatever its name) is copied with
 * `VACUUM INTO`, SQLite's own consistent copy, never a raw read of a live
 * file; other files are read once, and the bytes hashed are the bytes
 * archived, streamed so memory stays flat whatever the hub's size. The archive is written to a temporary name beside `dest` and
 * renamed only once complete, so a process killed mid-way leaves at most a
 * `.partial` file, never one that looks finished.
 */
export async function writeExport(
  home: string,
  dest: string,
  options: { backup?: { run: number; object: string } } = {},
): Promise<ExportResult> {
  const staging = join(home, 'tmp', `export-${randomUUID()}`);
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(dest), { recursive: true });
  const partial = `${dest}.partial-${randomUUID().slice(0, 8)}`;
  try {
    const files: ManifestFile[] = [];
    const symlinks: ManifestLink[] = [];
    let databases = 0;
    // Streamed: one file's chunk at a time is in memory, and each file is hashed
    // as it is archived, so the manifest (last in the archive) lists those bytes.
    await writeArchive(partial, async (archive) => {
      for (const rel of walk(home)) {
        const path = join(home, rel);
        try {
          const stat = lstatSync(path);
          if (stat.isSymbolicLink()) {
            symlinks.push({ path: rel, target: readlinkSync(path) });
            continue;
          }
          const mode = stat.mode & 0o777;
          if (isSqlite(path)) {
            const copy = join(staging, `${databases}.db`);
            const rows = await copyDatabase(path, copy);
            databases++;
            const written = await addFile(archive, HOME_PREFIX + rel, copy, mode);
            rmSync(copy, { force: true });
            files.push({ path: rel, ...written, mode, kind: 'sqlite', rows });
            continue;
          }
          const written = await addFile(archive, HOME_PREFIX + rel, path, mode);
          files.push({ path: rel, ...written, mode, kind: 'file' });
        } catch (error) {
          // A module's temp file removed since the walk: it is no longer part of the hub.
          if (!existsSync(path)) continue;
          throw error;
        }
      }
      const manifest: Manifest = {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        hub_version: VERSION,
        hub_commit: COMMIT,
        created_at: new Date().toISOString(),
        ...(options.backup ? { backup: options.backup } : {}),
        home,
        files,
        symlinks,
      };
      const manifestText = `${JSON.stringify(manifest, null, 1)}\n`;
      await archive.addBytes(MANIFEST_FILE, manifestText, 0o600);
      await archive.addBytes(MANIFEST_SUM_FILE, `${sha256(manifestText)}\n`, 0o600);
    });
    renameSync(partial, dest);
    return { files: files.length, bytes: statSync(dest).size, databases };
  } finally {
    rmSync(partial, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Files up to this size are read whole (as a module last wrote them); larger ones are streamed. */
const READ_WHOLE = 1024 * 1024;

/**
 * Adds one file. A large one is streamed from one open descriptor for the
 * size it had when opened: bytes appended meanwhile wait for the next export,
 * and a file cut shorter meanwhile fails the export rather than archive a mix.
 */
async function addFile(archive: ArchiveWriter, name: string, path: string, mode: number) {
  const fd = openSync(path, 'r');
  let owned = true;
  try {
    const size = fstatSync(fd).size;
    if (size <= READ_WHOLE) return await archive.addBytes(name, readFileSync(fd), mode);
    owned = false;
    const source = createReadStream('', { fd, start: 0, end: size - 1, autoClose: true });
    try {
      return await archive.addStream(name, size, mode, source);
    } finally {
      source.destroy();
    }
  } finally {
    if (owned) closeSync(fd);
  }
}

/** Relative paths of every file and symlink under `home` that an export carries, sorted. */
function walk(home: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const entries = readdirSync(rel ? join(home, rel) : home, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && SKIP_TOP.has(entry.name)) continue;
      if (entry.isDirectory()) visit(child);
      else if (entry.isSymbolicLink()) out.push(child);
      // Sockets, fifos and devices are nothing a module keeps as data.
      else if (entry.isFile() && !SIDE_FILE.test(entry.name)) out.push(child);
    }
  };
  visit('');
  return out;
}

/** True when the file starts with SQLite's header (the name says nothing reliable). */
function isSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

// The worker is its own entrypoint of the compiled binary (build.ts), bundled
// as backup/snapshot-worker.js under the binary's root (entrypoints keep their
// paths below src/); from source it is the .ts file beside this one.
const WORKER_URL = Bun.main.includes('$bunfs')
  ? join(dirname(Bun.main), 'backup', 'snapshot-worker.js')
  : new URL('./snapshot-worker.ts', import.meta.url).href;

/**
 * A consistent copy of a live database: VACUUM INTO reads it in one read
 * transaction (writers in WAL mode carry on), and includes what is still
 * in its -wal file. It runs in a worker, so the hub keeps answering; the
 * copy is left at `copy`, to be streamed into the archive. Resolves to the
 * copy's rows per table, recorded in the manifest for restore drills.
 */
function copyDatabase(path: string, copy: string): Promise<Record<string, number>> {
  const worker = new Worker(WORKER_URL);
  return new Promise<Record<string, number>>((resolve, reject) => {
    worker.onmessage = (
      event: MessageEvent<{ ok: boolean; rows?: Record<string, number>; message?: string }>,
    ) => {
      if (event.data.ok) resolve(event.data.rows ?? {});
      else reject(new Error(`cannot copy ${path}: ${event.data.message}`));
    };
    worker.onerror = (event) => reject(new Error(`cannot copy ${path}: ${event.message}`));
    worker.postMessage({ path, copy });
  }).finally(() => worker.terminate());
}
