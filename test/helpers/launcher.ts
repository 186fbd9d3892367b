/**
 * `parachute fly-boot` run as a Fly machine runs it, with no Fly: a temp
 * folder is the volume, the compiled binary (isolatedBinary) is the image's
 * launcher, the machine's PORT a free port kept across the hub's restarts.
 */
import { afterAll } from 'bun:test';
import type { Subprocess } from 'bun';
import { isolatedBinary, waitFor } from './binary.ts';

/** The app name the launchers here run as (FLY_APP_NAME). */
export const APP = 'my-fly-hub';

const launched: Launcher[] = [];

/** Call once in a test file: every launcher it starts is stopped (with its hub and modules) after it. */
export function trackLaunchers(): void {
  afterAll(async () => {
    for (const l of launched.splice(0)) await l.stop();
  });
}

/** A port nothing listens on now: the machine's fixed PORT, kept across the launcher's restarts. */
export function freePort(): number {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

export interface Launcher {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  volume: string;
  url: string;
  bin: string;
  out: () => string;
  stop: () => Promise<number>;
}

/** Starts the image's binary as `parachute fly-boot` on `volume`, as a Fly machine would. */
export function startLauncher(volume: string, env: Record<string, string> = {}): Launcher {
  const { bin } = isolatedBinary();
  const port = freePort();
  const proc = Bun.spawn([bin, 'fly-boot'], {
    env: {
      ...process.env,
      PARACHUTE_HOME: volume,
      PORT: String(port),
      PARACHUTE_BIND_HOST: '127.0.0.1',
      FLY_APP_NAME: APP,
      // What the project's image sets, which alone refuses an upgrade.
      PARACHUTE_IMAGE: '1',
      INVOCATION_ID: '',
      ...env,
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let text = '';
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const launcher: Launcher = {
    proc,
    volume,
    url: `http://127.0.0.1:${port}`,
    bin,
    out: () => text,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return await proc.exited;
    },
  };
  launched.push(launcher);
  return launcher;
}

/** The version /health answers with, or null while nothing answers. */
export async function healthVersion(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { version: string }).version;
  } catch {
    return null;
  }
}

/** True when `url` answers 200. */
export async function answers200(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

export function answers(launcher: Launcher, version: string, timeoutMs = 60_000) {
  return waitFor(
    `/health to answer ${version} (launcher output: ${launcher.out().slice(-2000)})`,
    async () => {
      if (launcher.proc.exitCode !== null)
        throw new Error(`the launcher exited ${launcher.proc.exitCode}: ${launcher.out()}`);
      return (await healthVersion(launcher.url)) === version ? true : undefined;
    },
    timeoutMs,
  );
}

/** /api/ready answering 200: boot is over (modules started). */
export function readyAt(url: string) {
  return waitFor('/api/ready', async () => {
    try {
      return (await fetch(`${url}/api/ready`)).status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  });
}
