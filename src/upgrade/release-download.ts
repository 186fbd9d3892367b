import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { OperatorError } from '../platform/operator-error.ts';
import { checksumFor } from '../platform/release-asset.ts';

const FETCH_TIMEOUT_MS = 10 * 60_000;

/** GETs `url` or throws an OperatorError naming it. */
async function get(url: string, timeoutMs = FETCH_TIMEOUT_MS): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new OperatorError(
      `could not reach ${url}: ${(error as Error).message}`,
      'Check the network and PARACHUTE_RELEASE_URL; nothing was replaced.',
    );
  }
  if (!res.ok) {
    await res.arrayBuffer().catch(() => {});
    throw new OperatorError(
      `${url} answered ${res.status}.`,
      'Is that version published? Check PARACHUTE_RELEASE_URL and --to; nothing was replaced.',
    );
  }
  return res;
}

/** The latest version a release folder announces in its VERSION file. */
export async function announcedVersion(folder: string, timeoutMs = 10_000): Promise<string> {
  const text = (await (await get(`${folder}/VERSION`, timeoutMs)).text()).trim();
  if (!/^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(text))
    throw new OperatorError(`${folder}/VERSION does not hold a version.`, 'Check the release.');
  return text.replace(/^v/, '');
}

/**
 * Downloads `asset` from `folder` to `dest` and checks it against the
 * folder's SHA256SUMS; on any mismatch `dest` is removed and nothing else
 * was touched.
 */
export async function downloadVerified(folder: string, asset: string, dest: string): Promise<void> {
  const sums = await (await get(`${folder}/SHA256SUMS`)).text();
  const expected = checksumFor(sums, asset);
  if (!expected) {
    throw new OperatorError(
      `SHA256SUMS at ${folder} lists no ${asset}.`,
      'This release has no build for this machine; nothing was replaced.',
    );
  }
  const res = await get(`${folder}/${asset}`);
  const hash = createHash('sha256');
  // A plain descriptor, closed before the binary is run (an open writer makes exec fail with ETXTBSY).
  const fd = openSync(dest, 'w', 0o700);
  try {
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      hash.update(chunk);
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset);
    }
    fsyncSync(fd);
  } catch (error) {
    rmSync(dest, { force: true });
    throw new OperatorError(
      `the download of ${folder}/${asset} broke off: ${(error as Error).message}`,
      'Try again; nothing was replaced.',
    );
  } finally {
    closeSync(fd);
  }
  const actual = hash.digest('hex');
  if (actual !== expected) {
    rmSync(dest, { force: true });
    throw new OperatorError(
      `checksum mismatch for ${asset} (expected ${expected}, got ${actual}): the download is corrupt or was tampered with.`,
      'Nothing was replaced. Try again later, or check PARACHUTE_RELEASE_URL.',
    );
  }
  chmodSync(dest, 0o755);
}

/** The version a downloaded binary reports, which also proves it runs on this machine. */
export function binaryVersion(path: string): string {
  const out = Bun.spawnSync([path, '--version'], { stdin: 'ignore', stderr: 'pipe' });
  const said = out.stdout.toString().trim();
  const match = /^parachute (\S+)/.exec(said);
  if (!out.success || !match) {
    throw new OperatorError(
      `the downloaded binary does not run on this machine: ${said || out.stderr.toString().trim()}`,
      'Nothing was replaced. Check that the release has a build for this system.',
    );
  }
  return match[1] as string;
}
