// Moving a hub onto Fly (issue 19 point 4): an export of the local hub (or a
// file) is uploaded to the new, empty hub's POST /api/hub/import with the
// one-time import token the deploy set as a secret; the hub verifies it,
// restarts into it under its launcher, and then answers as the moved hub.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeExport } from '../backup/export.ts';
import { checkExport } from '../backup/import.ts';
import { HOME_PREFIX, type Manifest } from '../backup/manifest.ts';
import { readArchive } from '../backup/tar-stream.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { flyAppFetch, flyAppOrigin } from './app-url.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MoveSource {
  archive: string;
  manifest: Manifest;
  bytes: number;
  /** The moved hub's operator token (it moves with the hub): proves the hub on Fly is this one. */
  operatorToken: string | null;
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
    const token = readToken(hubPaths(home).operatorToken);
    return {
      archive,
      manifest,
      bytes: statSync(archive).size,
      operatorToken: token,
      temporary: true,
    };
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
  let operatorToken: string | null = null;
  await readArchive(archive, async (entry) => {
    if (entry.name !== `${HOME_PREFIX}operator.token`) return;
    operatorToken =
      (await new Response(entry.body as unknown as ReadableStream).text()).trim() || null;
  });
  return { archive, manifest, bytes: statSync(archive).size, operatorToken, temporary: false };
}

function readToken(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Whether the hub on the app is already the moved one: it accepts the moved hub's operator token. */
export async function isMovedHub(app: string, operatorToken: string | null): Promise<boolean> {
  if (!operatorToken) return false;
  try {
    const res = await flyAppFetch(app, '/api/hub', {
      headers: { authorization: `Bearer ${operatorToken}` },
      signal: AbortSignal.timeout(5000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
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
    if (await waitMovedQuietly(app, source.operatorToken)) return;
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

async function waitMovedQuietly(app: string, token: string | null): Promise<boolean> {
  try {
    await waitMoved(app, token, 60);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits for the hub to come back from its restart as the moved hub: the
 * moved operator token works there (or, without one, it has an admin).
 */
export async function waitMoved(
  app: string,
  operatorToken: string | null,
  limitS = 300,
): Promise<void> {
  const deadline = Date.now() + limitS * 1000;
  while (Date.now() < deadline) {
    if (operatorToken) {
      if (await isMovedHub(app, operatorToken)) return;
    } else {
      try {
        const res = await flyAppFetch(app, '/api/setup', { signal: AbortSignal.timeout(5000) });
        if (res.ok && ((await res.json()) as { setup_required?: boolean }).setup_required === false)
          return;
      } catch {}
    }
    await sleep(1000);
  }
  throw new OperatorError(
    `the hub on ${flyAppOrigin(app)} did not come back as the moved hub within ${limitS} s.`,
    'The import may have failed: the hub writes why to run/import.json and its log (Fly dashboard → Machines → logs). Run the same command again once fixed.',
  );
}

/** The moved hub's modules, as it reports them (for the summary). */
export async function movedModules(app: string, operatorToken: string | null): Promise<string[]> {
  if (!operatorToken) return [];
  try {
    const res = await flyAppFetch(app, '/api/modules', {
      headers: { authorization: `Bearer ${operatorToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return [];
    const { modules } = (await res.json()) as { modules: { name: string; state: string }[] };
    return modules.map((m) => `${m.name} (${m.state})`);
  } catch {
    return [];
  }
}
