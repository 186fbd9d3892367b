import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * The release layout, shared by build.ts (which publishes it), `parachute
 * upgrade --hub` (which downloads from it) and install.sh (which mirrors
 * detectAsset in POSIX sh): one binary per target named
 * parachute-<os>-<arch>[-musl][-baseline], plus SHA256SUMS and VERSION.
 */
export const RELEASE_TARGETS = [
  'bun-linux-x64',
  // x64 processors without AVX2.
  'bun-linux-x64-baseline',
  'bun-linux-arm64',
  // Alpine and other musl systems.
  'bun-linux-x64-musl',
  'bun-linux-x64-musl-baseline',
  'bun-linux-arm64-musl',
  'bun-darwin-x64',
  'bun-darwin-x64-baseline',
  'bun-darwin-arm64',
] as const;

/** The project's releases (GitHub layout: latest/download/<asset>, download/v<V>/<asset>). */
export const DEFAULT_RELEASES = 'https://github.com/openparachute/parachute-hub/releases';

export function assetOf(target: string): string {
  return `parachute-${target.replace(/^bun-/, '')}`;
}

/**
 * The folder holding a release's assets: PARACHUTE_RELEASE_URL when set
 * (one release, as install.sh reads it), else the project's release `to` or
 * the latest.
 */
export function releaseFolder(env: Record<string, string | undefined>, to?: string): string {
  const custom = env.PARACHUTE_RELEASE_URL?.trim();
  if (custom) return custom.replace(/\/+$/, '');
  return to
    ? `${DEFAULT_RELEASES}/download/v${to.replace(/^v/, '')}`
    : `${DEFAULT_RELEASES}/latest/download`;
}

/** What detectAsset needs to know about the machine; read from the real one by default. */
export interface MachineFacts {
  platform: string;
  arch: string;
  musl: boolean;
  avx2: boolean;
}

/** This machine's asset: the same choice install.sh's detect_asset makes. */
export function detectAsset(facts: MachineFacts = thisMachine()): string {
  const os = facts.platform === 'darwin' ? 'darwin' : facts.platform === 'linux' ? 'linux' : null;
  if (!os) throw new Error(`${facts.platform} is not supported (Linux and macOS are)`);
  if (facts.arch !== 'x64' && facts.arch !== 'arm64')
    throw new Error(`the ${facts.arch} processor is not supported (x86_64 and arm64 are)`);
  const libc = os === 'linux' && facts.musl ? '-musl' : '';
  const cpu = facts.arch === 'x64' && !facts.avx2 ? '-baseline' : '';
  return `parachute-${os}-${facts.arch}${libc}${cpu}`;
}

function thisMachine(): MachineFacts {
  // A compiled binary runs natively: process.arch is the real one (no Rosetta case).
  const linux = process.platform === 'linux';
  return {
    platform: process.platform,
    arch: process.arch,
    musl: linux && readdirSafe('/lib').some((name) => name.startsWith('ld-musl-')),
    avx2: linux ? /\bavx2\b/i.test(readSafe('/proc/cpuinfo')) : darwinAvx2(),
  };
}

function darwinAvx2(): boolean {
  const out = Bun.spawnSync(['sysctl', '-n', 'machdep.cpu.leaf7_features'], { stderr: 'ignore' });
  return /\bavx2\b/i.test(out.stdout.toString());
}

function readSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The hex SHA-256 SHA256SUMS lists for `asset` (sha256sum format, text or binary mode), or null. */
export function checksumFor(sums: string, asset: string): string | null {
  for (const line of sums.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/i.exec(line.trim());
    if (match && match[2] === asset) return (match[1] as string).toLowerCase();
  }
  return null;
}
