/**
 * Builds dist/parachute: Vite builds web/ into web/dist, every file there is
 * hashed, precompressed and listed in src/hub/spa-files.gen.ts as an
 * embedded-file import, then `bun build --compile` bundles src/cli.ts with
 * those files into one executable.
 *
 *   bun run build.ts                 this machine's binary -> dist/parachute
 *   bun run build.ts --release       instead: every release asset install.sh
 *                                    picks from, install.sh and SHA256SUMS
 *                                    -> dist/release/
 *
 * --release is a maintainer command, never run by tests: Bun compiles for
 * another target by downloading that target's runtime (bun-<target>-v<version>,
 * cached in ~/.bun/install/cache), so it needs the network. Only this
 * machine's own target (bun-linux-x64 here) builds offline.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { build as viteBuild } from 'vite';
import pkg from './package.json' with { type: 'json' };
import { assetOf, RELEASE_TARGETS } from './src/platform/release-asset.ts';

const root = import.meta.dir;
const webDist = join(root, 'web/dist');
const genFile = join(root, 'src/hub/spa-files.gen.ts');
const release = process.argv.includes('--release');
// The version the binary reports (package.json's unless PARACHUTE_BUILD_VERSION
// says otherwise: the upgrade tests build a second, newer release) and where
// a plain build goes (PARACHUTE_BUILD_OUT, default dist/parachute).
const version = process.env.PARACHUTE_BUILD_VERSION || pkg.version;
const plainOut = process.env.PARACHUTE_BUILD_OUT || join(root, 'dist/parachute');

// The asset names (the target without `bun-`) are shared with `parachute
// upgrade --hub`; install.sh builds the same name from uname, the libc and
// the CPU's AVX2 flag.
const releaseDir = join(root, 'dist/release');

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
  map: 'application/json',
};
const COMPRESSIBLE = new Set(['html', 'js', 'css', 'svg', 'json', 'webmanifest', 'txt', 'map']);

async function main() {
  const t0 = performance.now();
  await viteBuild({ configFile: join(root, 'web/vite.config.ts'), logLevel: 'warn' });
  writeFileSync(genFile, embeddedFilesModule(listFiles(webDist)));
  const commit = gitCommit();
  const outputs: string[] = [];
  if (release) {
    rmSync(releaseDir, { recursive: true, force: true });
    mkdirSync(releaseDir, { recursive: true });
    for (const target of RELEASE_TARGETS) {
      const outfile = join(releaseDir, assetOf(target));
      await compile(outfile, commit, target);
      outputs.push(outfile);
    }
    // Published beside the binaries: the release's own installer.
    copyFileSync(join(root, 'install.sh'), join(releaseDir, 'install.sh'));
    outputs.push(join(releaseDir, 'install.sh'));
    writeChecksums(outputs);
    // What a hub reads to tell whether an upgrade is available.
    writeFileSync(join(releaseDir, 'VERSION'), `${version}\n`);
  } else {
    const outfile = plainOut;
    await compile(outfile, commit);
    outputs.push(outfile);
  }
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `built ${outputs.map((o) => relative(root, o)).join(', ')} (commit ${commit}) in ${took}s`,
  );
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile() && !/\.(gz|br)$/.test(path))
    .sort();
}

/** Writes .br/.gz siblings worth having and returns the TypeScript module that embeds everything. */
function embeddedFilesModule(files: string[]): string {
  const imports: string[] = [];
  const rows: string[] = [];
  files.forEach((path, i) => {
    const key = relative(webDist, path).split('\\').join('/');
    const ext = key.slice(key.lastIndexOf('.') + 1);
    const bytes = readFileSync(path);
    const embed = (file: string, name: string) => {
      imports.push(
        `import ${name} from './${relative(join(root, 'src/hub'), file)}' with { type: 'file' };`,
      );
      return name;
    };
    const fields = [`path: ${embed(path, `f${i}`)}`];
    if (COMPRESSIBLE.has(ext) && bytes.length > 256) {
      const br = brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } });
      const gz = Bun.gzipSync(bytes, { level: 9 });
      if (br.length < bytes.length * 0.9) {
        writeFileSync(`${path}.br`, br);
        fields.push(`br: ${embed(`${path}.br`, `f${i}br`)}`);
      }
      if (gz.length < bytes.length * 0.9) {
        writeFileSync(`${path}.gz`, gz);
        fields.push(`gzip: ${embed(`${path}.gz`, `f${i}gz`)}`);
      }
    }
    const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
    fields.push(`etag: ${JSON.stringify(etag)}`);
    fields.push(`type: ${JSON.stringify(CONTENT_TYPES[ext] ?? 'application/octet-stream')}`);
    rows.push(`  ${JSON.stringify(key)}: { ${fields.join(', ')} },`);
  });
  return [
    '// Generated by build.ts from web/dist. Do not edit.',
    // Embedded-file imports have no type declarations; the export below is typed.
    '// @ts-nocheck',
    "import type { SpaFiles } from './spa-files.ts';",
    ...imports,
    '',
    'export const spaFiles: SpaFiles = {',
    ...rows,
    '};',
    '',
  ].join('\n');
}

async function compile(outfile: string, commit: string, target?: string) {
  rmSync(outfile, { force: true });
  // Bun reports a failed build by throwing (AggregateError) or by success: false.
  const result = await bunBuild(outfile, commit, target).catch((error: unknown) => {
    const messages = error instanceof AggregateError ? error.errors : [error];
    return { success: false, logs: messages };
  });
  if (!result.success) {
    for (const message of result.logs) console.error(String(message));
    const hint = target
      ? ` (building for ${target} downloads that target's Bun runtime: is the network reachable?)`
      : '';
    throw new Error(`compiling ${outfile} failed${hint}`);
  }
}

function bunBuild(outfile: string, commit: string, target?: string) {
  return Bun.build({
    // The export's snapshot worker is an entrypoint of its own (src/backup/export.ts).
    entrypoints: [join(root, 'src/cli.ts'), join(root, 'src/backup/snapshot-worker.ts')],
    compile: {
      outfile,
      ...(target ? { target: target as Bun.Build.CompileTarget } : {}),
      // The hub runs from any directory: a stray .env or bunfig.toml there
      // must not change how it behaves.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    // Precompiled bytecode roughly halves the time from exec to listening.
    bytecode: true,
    // Modules loaded with import() (the admin app, hub/lazy-app.ts) become
    // their own chunks inside the binary: an idle hub never pages them in.
    // Without splitting they would share the main chunk, wrapped in lazy
    // initialisers that every import pays for.
    splitting: true,
    format: 'esm',
    define: {
      PARACHUTE_BUILD_COMMIT: JSON.stringify(commit),
      PARACHUTE_BUILD_VERSION: JSON.stringify(version),
    },
  });
}

function gitCommit(): string {
  const run = (...args: string[]) => {
    const proc = Bun.spawnSync(['git', ...args], { cwd: root, stderr: 'ignore' });
    return proc.success ? proc.stdout.toString().trim() : '';
  };
  const sha = run('rev-parse', '--short=12', 'HEAD');
  if (!sha) return 'unknown';
  return run('status', '--porcelain', '--untracked-files=no') ? `${sha}-dirty` : sha;
}

/** SHA256SUMS in `sha256sum` format, so `sha256sum -c SHA256SUMS` checks a download. */
function writeChecksums(files: string[]) {
  const lines = files.map((file) => {
    const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
    return `${sum}  ${relative(releaseDir, file)}`;
  });
  writeFileSync(join(releaseDir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
}

await main();
