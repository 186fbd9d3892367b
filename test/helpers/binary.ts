import { copyFileSync, existsSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Subprocess } from 'bun';
import { waitFor as pollUntil } from '../../bench/lib.ts';

const BUILT = resolve(import.meta.dir, '../../dist/parachute');

// Test folders go when the test run ends (test/helpers/preload.ts): each
// holds a link to that build's binary, so kept folders pinned 100+ MB per
// build. PARACHUTE_KEEP_TEST_DIRS=1 keeps them for inspection.
const testDirs: string[] = [];

/** Removes every folder isolatedBinary() made in this test run. */
export function removeTestDirs(): void {
  if (process.env.PARACHUTE_KEEP_TEST_DIRS === '1') return;
  for (const dir of testDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Puts dist/parachute alone into a fresh empty folder and returns its path,
 * so every test proves the binary needs nothing beside it. A hard link, not
 * a copy: a copy per call filled a disk with 108 MB binaries. The folder
 * lasts until the test run ends (hubs started from it may outlive the test).
 */
export function isolatedBinary(): { dir: string; bin: string } {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'parachute-e2e-'));
  testDirs.push(dir);
  const bin = join(dir, 'parachute');
  try {
    linkSync(BUILT, bin);
  } catch {
    copyFileSync(BUILT, bin); // another filesystem
  }
  return { dir, bin };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  return pollUntil(what, probe, timeoutMs);
}

/** Runs the binary to completion and returns its exit code and output. */
export async function runBinary(
  bin: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const proc = Bun.spawn([bin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  // Peak resident memory of the command, in bytes (benchmarks report it).
  return { code, stdout, stderr, maxRss: proc.resourceUsage()?.maxRSS ?? 0 };
}

/** Collects a child's output as text while it runs. */
class Output {
  text = '';
  constructor(stream: ReadableStream<Uint8Array>) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
    })();
  }
}

export interface HubProcess {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  home: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the base URL once the hub logs that it listens. */
  listening: () => Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  signal: (sig: NodeJS.Signals) => Promise<number>;
}

/** Starts `parachute serve` on a free port (PORT=0) with its own PARACHUTE_HOME unless given. */
export function spawnHub(
  bin: string,
  options: { cwd: string; env?: Record<string, string>; args?: string[] },
): HubProcess {
  const home = options.env?.PARACHUTE_HOME ?? join(options.cwd, 'home');
  const proc = Bun.spawn([bin, 'serve', ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { ...process.env, PORT: '0', PARACHUTE_HOME: home, ...options.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const out = new Output(proc.stdout);
  const err = new Output(proc.stderr);
  return {
    proc,
    home,
    stdout: () => out.text,
    stderr: () => err.text,
    listening: () =>
      waitFor(`the hub to listen (stderr: ${err.text})`, () => {
        if (proc.exitCode !== null) throw new Error(`hub exited ${proc.exitCode}: ${err.text}`);
        return /listening on (http:\/\/\S+)/.exec(out.text)?.[1];
      }),
    signal: async (sig) => {
      proc.kill(sig);
      return await proc.exited;
    },
  };
}

/** Waits until GET /api/ready answers 200. */
export function ready(url: string): Promise<true> {
  return waitFor('/api/ready to answer 200', async () =>
    (await fetch(`${url}/api/ready`)).status === 200 ? true : undefined,
  );
}
