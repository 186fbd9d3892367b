/**
 * A second real build of the hub, reporting another version: what the
 * upgrade tests publish as "the new release". build.ts stamps the version
 * from PARACHUTE_BUILD_VERSION and writes to PARACHUTE_BUILD_OUT.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dir, '../..');

export const NEW_VERSION = '99.0.0';

/** Builds dist/parachute's sources again as `version` into a temp folder; returns the binary. */
export async function buildVersion(version = NEW_VERSION): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'parachute-newer-'));
  const out = join(dir, 'parachute');
  const proc = Bun.spawn([process.execPath, 'run', 'build.ts'], {
    cwd: ROOT,
    env: { ...process.env, PARACHUTE_BUILD_VERSION: version, PARACHUTE_BUILD_OUT: out },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`build.ts for ${version} failed: ${stderr}`);
  return out;
}

/**
 * A "release" that passes every check before the restart (right checksum,
 * answers --version) but exits 1 when started: what a rollback must undo.
 */
export function brokenBuild(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'parachute-broken-'));
  const out = join(dir, 'parachute');
  writeFileSync(
    out,
    `#!/bin/sh\nif [ "$1" = --version ]; then echo "parachute ${version} (commit broken)"; exit 0; fi\necho "broken build: exiting" >&2\nexit 1\n`,
  );
  chmodSync(out, 0o755);
  return out;
}

/** Removes a build made here (100+ MB each) as soon as its test file is done with it. */
export function removeBuild(binary: string | undefined): void {
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
}
