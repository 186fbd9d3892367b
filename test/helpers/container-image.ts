/**
 * The hub's container image, built and run for real on a machine with no
 * Docker engine (../shared/notes/real-systemd-and-images.md): podman builds
 * the repository's Dockerfile on a base imported from the cached Debian root
 * (no registry is reachable), and since `podman run` does not work here, the
 * built image's own filesystem runs under systemd-nspawn, as the image's
 * user, with its entrypoint, command, working folder and environment taken
 * from `podman image inspect`, and a host folder bound at the volume path.
 *
 * Podman's storage (vfs: every layer a full copy) lives in one folder per
 * test run under the test cache, removed afterwards; folders a killed run
 * left behind are removed by the next one.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Subprocess } from 'bun';
import { waitFor } from './binary.ts';
import { cacheDir, debianRoot, requireBoxTools } from './debian-box.ts';

const REPO = resolve(import.meta.dir, '../..');
export const BASE_TAG = 'localhost/debian:bookworm-slim';
export const IMAGE_TAG = 'localhost/parachute:test';

/** What `podman image inspect` says about an image (the fields the tests read). */
export interface ImageFacts {
  Size: number;
  Config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Volumes?: Record<string, unknown> | null;
    ExposedPorts?: Record<string, unknown> | null;
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], options: { stdin?: Blob } = {}): Promise<Run> {
  const proc = Bun.spawn(argv, {
    stdin: options.stdin ?? 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

async function must(argv: string[], what: string): Promise<string> {
  const result = await run(argv);
  if (result.code !== 0) {
    throw new Error(
      `${what} failed (${result.code}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  return result.stdout;
}

/** Removes storage folders of earlier runs whose process is gone (a killed run cleans nothing). */
function removeStaleStorage(parent: string): void {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const pid = Number(/^podman-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    rmSync(`/tmp/parachute-podman-run-${pid}`, { recursive: true, force: true });
  }
}

/** Podman with its own storage folder, so builds never touch (or fill) the machine's. */
export class Podman {
  readonly dir: string;
  /** Podman refuses a run root longer than 50 characters, so it cannot live under `dir`. */
  private readonly runRoot = `/tmp/parachute-podman-run-${process.pid}`;

  constructor() {
    if (!Bun.which('podman'))
      throw new Error('podman is missing: apt-get install -y podman (see .ci/run)');
    const parent = join(cacheDir(), 'container-tests');
    removeStaleStorage(parent);
    this.dir = join(parent, `podman-${process.pid}`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  private argv(args: string[]): string[] {
    return [
      'podman',
      '--storage-driver',
      'vfs',
      '--cgroup-manager',
      'cgroupfs',
      '--root',
      join(this.dir, 'storage'),
      '--runroot',
      this.runRoot,
      ...args,
    ];
  }

  /** The cached Debian root as the Dockerfile's base image (what debian:bookworm-slim is offline). */
  async importBase(): Promise<void> {
    const root = await debianRoot();
    const tar = Bun.spawn(['tar', '-C', root, '-c', '.'], { stdout: 'pipe', stderr: 'pipe' });
    const proc = Bun.spawn(this.argv(['import', '-', BASE_TAG]), {
      stdin: tar.stdout,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0 || (await tar.exited) !== 0)
      throw new Error(`podman import failed (${code}): ${err}`);
  }

  /**
   * `podman build` of the repository's Dockerfile. One layer for the whole
   * build (--layers=false): with vfs each cached step is another full copy.
   */
  build(tag = IMAGE_TAG, buildArgs: Record<string, string> = {}): Promise<string> {
    const extra = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
    return must(
      this.argv([
        'build',
        '--layers=false',
        '--isolation',
        'chroot',
        '--network',
        'host',
        '--build-arg',
        `BASE=${BASE_TAG}`,
        ...extra,
        '-t',
        tag,
        REPO,
      ]),
      'podman build',
    );
  }

  async inspect(tag: string): Promise<ImageFacts> {
    const [facts] = JSON.parse(
      await must(this.argv(['image', 'inspect', tag]), 'podman image inspect'),
    );
    return facts as ImageFacts;
  }

  /** The image's root filesystem as a folder (vfs: a plain directory). */
  async mount(tag: string): Promise<string> {
    return (await must(this.argv(['image', 'mount', tag]), 'podman image mount')).trim();
  }

  /** Deletes one image (vfs: its layers are full copies). */
  async removeImage(tag: string): Promise<void> {
    await run(this.argv(['image', 'unmount', tag]));
    await must(this.argv(['rmi', '--force', tag]), 'podman rmi');
  }

  /** Deletes every image and the storage folder. */
  async remove(): Promise<void> {
    await run(this.argv(['image', 'unmount', '--all']));
    await run(this.argv(['rmi', '--all', '--force']));
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.runRoot, { recursive: true, force: true });
  }
}

/**
 * One run of the image, as a platform starts it: the entrypoint plus the
 * command, as the image's user, in its working folder, with its environment
 * (plus `env`), and `volume` bound at /parachute. nspawn forwards SIGTERM to
 * the container's PID 1 (the image's tini), as `docker stop` does. The root
 * is a throwaway overlay: only the volume outlives a stop, as on a platform.
 */
export class Container {
  private output = '';

  private constructor(private readonly proc: Subprocess<'ignore', 'pipe', 'pipe'>) {
    void this.collect(proc.stdout);
    void this.collect(proc.stderr);
  }

  static start(
    rootfs: string,
    image: ImageFacts,
    options: { volume: string; env: Record<string, string> },
  ): Container {
    requireBoxTools();
    const config = image.Config;
    const [uid] = (config.User ?? '').split(':');
    if (!uid) throw new Error('the image names no user');
    const env = [
      ...(config.Env ?? []),
      ...Object.entries(options.env).map(([k, v]) => `${k}=${v}`),
    ];
    const argv = [
      'systemd-nspawn',
      // The host has no systemd to register with or to put the container in a scope of.
      '--register=no',
      '--keep-unit',
      '-q',
      '-D',
      rootfs,
      '--volatile=overlay',
      `--user=${uid}`,
      `--chdir=${config.WorkingDir || '/'}`,
      `--bind=${options.volume}:/parachute`,
      '--kill-signal=SIGTERM',
      ...env.map((e) => `--setenv=${e}`),
      ...(config.Entrypoint ?? []),
      ...(config.Cmd ?? []),
    ];
    return new Container(Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' }));
  }

  /** The nspawn process's pid (the container's PID 1 is its child). */
  get pid(): number {
    return this.proc.pid;
  }

  /** The exit code once the container ended, else null. */
  get exitCode(): number | null {
    return this.proc.exitCode;
  }

  /** Everything the container printed so far. */
  get log(): string {
    return this.output;
  }

  /** Waits until `url`/health answers 200. */
  async healthy(url: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return waitFor(
      `the container's hub at ${url}/health (output so far:\n${this.output.slice(-2000)})`,
      async () => {
        if (this.proc.exitCode !== null) {
          throw new Error(
            `the container exited (${this.proc.exitCode}):\n${this.output.slice(-3000)}`,
          );
        }
        const res = await fetch(`${url}/health`).catch(() => null);
        return res?.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
      },
      timeoutMs,
    );
  }

  /** A platform's stop: SIGTERM to PID 1, SIGKILL after `timeoutMs`. Resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const exited = await Promise.race([
      this.proc.exited.then(() => true),
      Bun.sleep(timeoutMs).then(() => false),
    ]);
    if (!exited) {
      this.proc.kill('SIGKILL');
      await this.proc.exited;
      throw new Error(
        `the container did not stop within ${timeoutMs} ms:\n${this.output.slice(-3000)}`,
      );
    }
    return this.proc.exitCode ?? -1;
  }

  private async collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.output += decoder.decode(chunk, { stream: true });
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    }
  }
}
