// Moving a hub onto Fly (issue 19 point 4): an export of the local hub (or a
// file) is uploaded to the new, empty hub's POST /api/hub/import with the
// one-time import token the deploy set as a secret; the hub verifies it,
// restarts into it under its launcher, and then answers as the moved hub.
import { existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeExport } from '../backup/export.ts';
import { checkExport } from '../backup/import.ts';
import { HOME_PREFIX, type Manifest } from '../backup/manifest.ts';
import { readArchive } from '../backup/tar-stream.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { flyAppFetch, flyAppOrigin } from './app-url.ts';
import { setupRequired } from './machine-wait.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MoveSource {
  archive: string;
  manifest: Manifest;
  bytes: number;
  /** The modules it carries (names from its services.json), for the summary. */
  modules: string[];
  /** A temporary export to remove afterwards. */
  temporary: boolean;
}

/** `--from-here`: a consistent export of the local hub (it may keep serving meanwhile). */
export async function exportHere(home: string): Promise<MoveSource> {
  if (!existsSync(hubPaths(home).db)) {
    throw new OperatorError(
      `there is no hub in ${home} to move (no hub.db).`,
      'Point PARACHUTE_HOME at the hub to move, or give an export file with --from-export FILE.',
    );
  }
  const archive = join(tmpdir(), `parachute-move-${process.pid}-${Date.now()}.tar.gz`);
  try {
    await writeExport(home, archive);
    const manifest = await checkExport(archive);
    const modules = await archiveModules(archive);
    return { archive, manifest, bytes: statSync(archive).size, modules, temporary: true };
  } catch (error) {
    rmSync(archive, { force: true });
    throw error;
  }
}

/** `--from-export FILE`: verified here first, so a damaged file is refused before anything on Fly changes. */
export async function exportFile(file: string): Promise<MoveSource> {
  const archive = resolve(file);
  if (!existsSync(archive)) {
    throw new OperatorError(
      `${archive} does not exist.`,
      'Give the file `parachute export` wrote.',
    );
  }
  const manifest = await checkExport(archive);
  const modules = await archiveModules(archive);
  return { archive, manifest, bytes: statSync(archive).size, modules, temporary: false };
}

/** The module names an export's services.json lists. */
async function archiveModules(archive: string): Promise<string[]> {
  let names: string[] = [];
  await readArchive(archive, async (entry) => {
    if (entry.name !== `${HOME_PREFIX}services.json`) return;
    const chunks: Uint8Array[] = [];
    for await (const chunk of entry.body) chunks.push(chunk);
    try {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        services?: { name?: string; paths?: string[] }[];
      };
      names = (doc.services ?? []).flatMap((s) =>
        s.name ? [s.paths?.[0] ? `${s.name} (${s.paths[0]})` : s.name] : [],
      );
    } catch {
      // Verified by checkExport already; a summary without names is fine.
    }
  });
  return names;
}

/** POSTs the archive, streamed from disk, to the empty hub's import endpoint. */
export async function uploadExport(
  app: string,
  source: MoveSource,
  importToken: string,
): Promise<void> {
  let res: Response;
  try {
    res = await flyAppFetch(app, '/api/hub/import', {
      method: 'POST',
      headers: { authorization: `Bearer ${importToken}`, 'content-type': 'application/gzip' },
      body: Bun.file(source.archive),
    });
  } catch (error) {
    // The hub restarts as soon as it has staged the archive: a cut answer may still be a success.
    if (await waitMovedQuietly(app)) return;
    throw new OperatorError(
      `the upload to ${flyAppOrigin(app)}/api/hub/import was cut off (${(error as Error).message}).`,
      'Run the same command again: the hub is still empty, and a new import token is set.',
    );
  }
  const text = await res.text();
  if (res.status === 202) return;
  let body: { error?: string; error_description?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {}
  const what = `${body.error_description ?? (text.slice(0, 200) || res.statusText)} (HTTP ${res.status}${body.error ? ` ${body.error}` : ''})`;
  const hints: Record<string, string> = {
    hub_not_empty:
      'The hub on Fly already has accounts or modules: a move only goes into an empty hub. To replace it, `parachute deploy fly --app NAME --destroy` first (its data is lost), then move again.',
    import_token_used:
      'That import token was used already. Run the same command again: it sets a new one.',
    invalid_export: 'The export was refused as it arrived; make a new one and try again.',
    no_launcher:
      'The hub on Fly does not run under `parachute fly-boot` (an older image?). Deploy with this version’s image (PARACHUTE_FLY_IMAGE).',
  };
  throw new OperatorError(
    `the hub on Fly refused the import: ${what}.`,
    hints[body.error ?? ''] ??
      (res.status === 413
        ? 'The export is larger than the hub accepts in one upload.'
        : 'Run the same command again; if it fails the same way, see the machine’s logs in the Fly dashboard.'),
  );
}

async function waitMovedQuietly(app: string): Promise<boolean> {
  try {
    await waitMoved(app, 60);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits for the hub to come back from its restart as the moved hub. It was
 * empty (the import endpoint refuses anything else), so an admin there now
 * is the moved hub's. (Its operator token is not the proof: a hub whose
 * origin changed mints a new one and revokes the old.)
 */
export async function waitMoved(app: string, limitS = 300): Promise<void> {
  const deadline = Date.now() + limitS * 1000;
  while (Date.now() < deadline) {
    if ((await setupRequired(app)) === false) return;
    await sleep(1000);
  }
  throw new OperatorError(
    `the hub on ${flyAppOrigin(app)} did not come back as the moved hub within ${limitS} s.`,
    'The import may have failed: the hub writes why to run/import.json and its log (Fly dashboard → Machines → logs). Run the same command again once fixed.',
  );
}
