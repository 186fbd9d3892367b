import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { pumpLines } from '../supervisor/output.ts';
import { describeIssue, ModuleManifest } from './schema.ts';

/** Where installs happen: one package.json listing every installed module. */
export interface InstallRoot {
  modulesDir: string;
  /** TMPDIR and the Bun cache live on the same disk as the modules (deploy.md, containers). */
  tmpDir: string;
  cacheDir: string;
  /** This binary, run as Bun with BUN_BE_BUN=1. */
  hubBinary: string;
  env: Record<string, string | undefined>;
  /**
   * Aborted when the hub stops: a `bun` still running is killed then. Left
   * running, it finished after the hub had exited and released its home,
   * adding a package no row runs from, beside whatever the next hub did.
   */
  signal?: AbortSignal;
}

/** A failed install step, with words for the operator. */
export class InstallError extends Error {
  override name = 'InstallError';

  /** A machine-readable reason the API passes on (`no_manifest`), when a client can act on it. */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** What `bun add` put into node_modules for a spec. */
export interface InstalledPackage {
  packageName: string;
  version: string;
  installDir: string;
  manifest: ModuleManifest;
}

/**
 * Runs `<hub> add <spec>` as Bun in the install root; every output line goes
 * to `progress`. Local folders and .tgz files are passed as absolute paths;
 * a tarball URL is bun's to download.
 */
export async function bunAdd(
  root: InstallRoot,
  spec: string,
  progress: (line: string) => void,
): Promise<string> {
  ensureRoot(root);
  const target = isLocal(spec) ? resolve(spec) : spec;
  const before = dependencies(root);
  await runBun(root, ['add', target], progress);
  const after = dependencies(root);
  const added = Object.keys(after).find((name) => before[name] !== after[name]);
  const name = added ?? packageNameOf(spec, root);
  if (!name || !existsSync(join(root.modulesDir, 'node_modules', name, 'package.json'))) {
    throw new InstallError(
      `bun add ${spec} finished, but the installed package could not be found`,
    );
  }
  return name;
}

/** Removes a package from the install root (uninstall, or rollback of a failed install). */
export async function bunRemove(
  root: InstallRoot,
  packageName: string,
  progress: (line: string) => void,
) {
  if (!(packageName in dependencies(root))) return;
  await runBun(root, ['remove', packageName], progress);
}

/** The package a row runs from (`node_modules/<package>` of its installDir), if the hub installed it. */
export function packageOf(row: { installDir?: string }): string | undefined {
  return row.installDir?.split('/node_modules/').pop();
}

/**
 * Where to add a package from again (upgrade, or putting back what rows run
 * from): the folder, tarball or URL it came from, or null when it came from
 * the registry (then a version or dist-tag is added instead).
 */
export function sourceOf(recorded: string | undefined): string | null {
  if (!recorded || !/^(file:|\/|\.|https?:)/.test(recorded)) return null;
  return recorded.replace(/^file:/, '');
}

/** The version in the installed package's package.json, or null when it is not there. */
export function installedVersion(root: InstallRoot, packageName: string): string | null {
  try {
    const path = join(root.modulesDir, 'node_modules', packageName, 'package.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return null;
  }
}

/**
 * Reads and validates the package's `.parachute/module.json`, or `given`
 * for a package that ships none (modules.md section 3).
 */
export function readInstalled(
  root: InstallRoot,
  packageName: string,
  given?: unknown,
): InstalledPackage {
  const installDir = join(root.modulesDir, 'node_modules', packageName);
  const pkg = JSON.parse(readFileSync(join(installDir, 'package.json'), 'utf8')) as {
    version?: string;
  };
  const manifestPath = join(installDir, '.parachute', 'module.json');
  let raw: unknown = given;
  if (raw === undefined) {
    if (!existsSync(manifestPath)) {
      throw new InstallError(
        `${packageName} ships no .parachute/module.json, so it is not a Parachute module. Give a manifest at install ({package, manifest} or --manifest file.json) to run it anyway.`,
        'no_manifest',
      );
    }
    try {
      raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      throw new InstallError(
        `${packageName}'s .parachute/module.json is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  const parsed = ModuleManifest.safeParse(raw);
  if (!parsed.success) {
    throw new InstallError(
      `${packageName}'s module manifest is invalid: ${describeIssue(parsed.error, raw)}`,
    );
  }
  return { packageName, version: pkg.version ?? '0.0.0', installDir, manifest: parsed.data };
}

function ensureRoot(root: InstallRoot): void {
  for (const dir of [root.modulesDir, root.tmpDir, root.cacheDir])
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pkg = join(root.modulesDir, 'package.json');
  if (!existsSync(pkg)) {
    writeFileAtomic(
      pkg,
      `${JSON.stringify({ name: 'parachute-modules', private: true, dependencies: {} }, null, 2)}\n`,
    );
  }
}

/** What the install root's package.json records for each package (a version range, a path or a URL). */
export function dependencies(root: InstallRoot): Record<string, string> {
  try {
    const pkg = JSON.parse(readFileSync(join(root.modulesDir, 'package.json'), 'utf8'));
    return (pkg.dependencies ?? {}) as Record<string, string>;
  } catch {
    return {};
  }
}

function isLocal(spec: string): boolean {
  // A tarball URL ends in .tgz too, but bun downloads it itself.
  if (/^https?:\/\//.test(spec)) return false;
  return spec.startsWith('.') || isAbsolute(spec) || spec.endsWith('.tgz') || existsSync(spec);
}

function packageNameOf(spec: string, root: InstallRoot): string | null {
  if (/^https?:\/\//.test(spec)) {
    const deps = dependencies(root);
    return Object.keys(deps).find((name) => deps[name] === spec) ?? null;
  }
  if (isLocal(spec)) {
    const path = resolve(spec);
    if (existsSync(path) && statSync(path).isDirectory()) {
      return (
        (JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { name?: string }).name ??
        null
      );
    }
    // A tarball: bun names the dependency after the package inside it.
    const deps = dependencies(root);
    return Object.keys(deps).find((name) => deps[name]?.includes(basename(path))) ?? null;
  }
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  return at === -1 ? spec : spec.slice(0, at);
}

async function runBun(
  root: InstallRoot,
  args: string[],
  progress: (line: string) => void,
): Promise<void> {
  progress(`$ bun ${args.join(' ')}`);
  const proc = Bun.spawn([root.hubBinary, ...args], {
    cwd: root.modulesDir,
    env: {
      ...(root.env as Record<string, string>),
      BUN_BE_BUN: '1',
      TMPDIR: root.tmpDir,
      BUN_INSTALL_CACHE_DIR: root.cacheDir,
      NO_COLOR: '1',
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    ...(root.signal ? { signal: root.signal } : {}),
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    progress(line);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  await Promise.all([pumpLines(proc.stdout, keep), pumpLines(proc.stderr, keep)]);
  const code = await proc.exited;
  if (root.signal?.aborted) {
    throw new InstallError(`bun ${args.join(' ')} was stopped: the hub is shutting down`);
  }
  if (code !== 0) {
    throw new InstallError(
      `bun ${args.join(' ')} failed (exit ${code}): ${tail.slice(-3).join(' / ') || 'no output'}`,
    );
  }
}
