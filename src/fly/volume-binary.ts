import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { detectAsset, releaseFolder } from '../platform/release-asset.ts';
import { binaryVersion, downloadVerified } from '../upgrade/release-download.ts';
import { VERSION } from '../version.ts';

type Env = Record<string, string | undefined>;

/**
 * The hub binary that serves on Fly lives on the volume, not in the image
 * (whose binary is only the launcher), so that an upgrade survives a machine
 * restart: <home>/hub-binary/parachute, with parachute.prev after an upgrade.
 */
export function volumeBinary(home: string): string {
  return join(home, 'hub-binary', 'parachute');
}

/** The last PARACHUTE_VERSION the launcher acted on, so that a restart does not undo an upgrade. */
function requestFile(home: string): string {
  return join(home, 'hub-binary', 'requested-version');
}

export function lastRequest(home: string): string | null {
  try {
    return readFileSync(requestFile(home), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function rememberRequest(home: string, version: string): void {
  writeFileAtomic(requestFile(home), `${version}\n`);
}

/** The version PARACHUTE_VERSION asks for, without a leading v; null when unset. */
export function requestedVersion(env: Env): string | null {
  const raw = env.PARACHUTE_VERSION?.trim();
  if (!raw) return null;
  if (!/^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(raw)) {
    throw new OperatorError(
      `PARACHUTE_VERSION "${raw}" is not a version.`,
      'Set it to a release such as 0.4.0 (parachute deploy fly --version 0.4.0), or unset it.',
    );
  }
  return raw.replace(/^v/, '');
}

/**
 * Writes release `want` to `dest` (beside the volume binary): downloaded from
 * PARACHUTE_RELEASE_URL (default the project's releases) and checked against
 * its SHA256SUMS and its own --version; or, when no release URL is set and
 * `want` is the launcher's own version, a copy of the launcher's binary.
 * Returns the version written; `dest` is removed on any failure.
 */
export async function fetchRelease(
  env: Env,
  want: string,
  dest: string,
  say: (message: string) => void,
): Promise<string> {
  mkdirSync(join(dest, '..'), { recursive: true, mode: 0o700 });
  rmSync(dest, { force: true });
  if (!env.PARACHUTE_RELEASE_URL?.trim() && want === VERSION) {
    say(
      `PARACHUTE_RELEASE_URL is not set: the hub binary is a copy of this launcher's own (${VERSION})`,
    );
    copyFileSync(process.execPath, dest);
    chmodSync(dest, 0o755);
    return VERSION;
  }
  const folder = releaseFolder(env, want);
  const asset = detectAsset();
  say(`Downloading ${asset} ${want} from ${folder} and checking it against SHA256SUMS`);
  try {
    await downloadVerified(folder, asset, dest);
    const got = binaryVersion(dest);
    if (got !== want) {
      throw new OperatorError(
        `the release at ${folder} is ${got}, not ${want}.`,
        'Point PARACHUTE_RELEASE_URL at that release, or set PARACHUTE_VERSION to the one it holds.',
      );
    }
    return got;
  } catch (error) {
    rmSync(dest, { force: true });
    throw error;
  }
}

/** The volume binary's version, or null when it is missing or does not run. */
export function installedVersion(binary: string): string | null {
  if (!existsSync(binary)) return null;
  try {
    return binaryVersion(binary);
  } catch {
    return null;
  }
}
