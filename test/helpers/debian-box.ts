/**
 * A real Debian host for the platform tests (../shared/notes/real-systemd-and-images.md):
 * a bookworm root made once with debootstrap and kept in a cache folder,
 * copied per scenario, and booted with systemd-nspawn so systemd is PID 1
 * inside. The box shares the host's network, so a hub inside listening on
 * 127.0.0.1:<free port> answers the test's fetch.
 *
 * Needs root and Debian's debootstrap and systemd-container (.ci/run
 * installs them). Without them the tests fail and say what to install:
 * a skipped platform test would hide that the units were never tried.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { waitFor } from './binary.ts';

/** What the root holds: systemd as init, PAM for user units (linger), curl, ps. */
const PACKAGES = 'systemd,systemd-sysv,dbus,libpam-systemd,ca-certificates,procps,curl';
const SUITE = 'bookworm';

/** Where pristine roots are kept between runs (PARACHUTE_TEST_CACHE overrides). */
export function cacheDir(): string {
  return process.env.PARACHUTE_TEST_CACHE ?? '/var/tmp/parachute-test-cache';
}

/** Fails with the fix when the machine cannot run boxes. */
export function requireBoxTools(): void {
  const missing = ['debootstrap', 'systemd-nspawn', 'nsenter'].filter((tool) => !Bun.which(tool));
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the platform tests boot a Debian root with systemd-nspawn and must run as root',
    );
  }
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: apt-get install -y debootstrap systemd-container (see .ci/run)`,
    );
  }
}

let pristine: Promise<string> | undefined;

/**
 * The pristine root, built on first use (about 2 minutes) and then reused:
 * a folder is only ever renamed into place once complete, so a run cut off
 * mid-build leaves nothing that looks finished.
 */
export function debianRoot(): Promise<string> {
  pristine ??= buildRoot();
  return pristine;
}

async function buildRoot(): Promise<string> {
  requireBoxTools();
  const dir = cacheDir();
  const root = join(dir, `debian-${SUITE}-${Bun.hash(PACKAGES).toString(16)}`);
  if (existsSync(join(root, 'etc', 'os-release'))) return root;
  mkdirSync(dir, { recursive: true });
  const building = `${root}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const proc = Bun.spawn(
    ['debootstrap', '--variant=minbase', `--include=${PACKAGES}`, SUITE, building],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`debootstrap failed (${code}):\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  }
  // Another run may have finished first; either copy is as good.
  if (existsSync(root)) rmSync(building, { recursive: true, force: true });
  else renameSync(building, root);
  return root;
}

/** A fresh copy of the pristine root at `dest` (a box's disk; `cp -a` keeps owners and modes). */
export async function copyRoot(dest: string): Promise<string> {
  const root = await debianRoot();
  rmSync(dest, { recursive: true, force: true });
  const code = await Bun.spawn(['cp', '-a', '--reflink=auto', root, dest]).exited;
  if (code !== 0) throw new Error(`copying ${root} to ${dest} failed (${code})`);
  // Each box gets its own machine id, as a real host would.
  writeFileSync(join(dest, 'etc', 'machine-id'), '');
  return dest;
}

/** What a command run inside the box printed. */
export interface BoxResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One boot of a root: systemd-nspawn with systemd as PID 1. `poweroff()`
 * shuts it down cleanly (SIGTERM to nspawn is a clean poweroff); booting
 * the same root again is a reboot.
 */
export class Box {
  private constructor(
    readonly root: string,
    private readonly nspawn: Subprocess,
    readonly init: number,
    private readonly console: { text: string },
  ) {}

  /**
   * Boots `root` and waits until systemd says the system is up.
   * `privateNetwork` gives the box its own loopback only (test from inside
   * with `curl`): ports there never collide with the host's other tests.
   */
  static async boot(
    root: string,
    options: { timeoutMs?: number; privateNetwork?: boolean } = {},
  ): Promise<Box> {
    requireBoxTools();
    const console = { text: '' };
    const nspawn = Bun.spawn(
      [
        'systemd-nspawn',
        // The host has no systemd to register with or to put the box in a scope of.
        '--register=no',
        '--keep-unit',
        '-q',
        '-D',
        root,
        '-b',
        '--console=pipe',
        ...(options.privateNetwork ? ['--private-network'] : []),
      ],
      { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
    );
    void collect(nspawn.stdout, console);
    void collect(nspawn.stderr, console);
    // A box that fails to come up is shut down, never left running behind the test.
    try {
      return await Box.started(root, nspawn, console, options.timeoutMs ?? 120_000);
    } catch (error) {
      nspawn.kill('SIGKILL');
      await nspawn.exited;
      throw error;
    }
  }

  private static async started(
    root: string,
    nspawn: Subprocess,
    console: { text: string },
    timeoutMs: number,
  ): Promise<Box> {
    const init = await waitFor(
      'systemd in the box',
      async () => {
        // Said at once: waiting on would only time out.
        if (nspawn.exitCode !== null) return -1;
        const children = await run(['pgrep', '-P', String(nspawn.pid)]);
        const pid = Number(children.stdout.trim().split('\n')[0]);
        if (!Number.isInteger(pid) || pid <= 0) return undefined;
        // nspawn's child becomes systemd only once it has set the box up.
        const comm = await Bun.file(`/proc/${pid}/comm`)
          .text()
          .catch(() => '');
        return comm.trim() === 'systemd' ? pid : undefined;
      },
      30_000,
    );
    if (init === -1) {
      throw new Error(`systemd-nspawn exited (${nspawn.exitCode}):\n${console.text.slice(-3000)}`);
    }
    const box = new Box(root, nspawn, init, console);
    // No bus, or `offline`, until systemd's own bus is up; then --wait waits out the boot.
    const up = await waitFor(
      'the box to boot',
      async () => {
        const state = await box.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs });
        const said = state.stdout.trim();
        return said === '' || said === 'offline' ? undefined : state;
      },
      timeoutMs,
    );
    // `degraded` is a booted system with a failed unit (nspawn boxes lack some hardware units).
    if (!/^(running|degraded)/.test(up.stdout.trim())) {
      throw new Error(
        `the box did not come up: ${up.stdout}${up.stderr}\n${console.text.slice(-3000)}`,
      );
    }
    return box;
  }

  /** The box's console output so far (its boot log), for failure messages. */
  get consoleText(): string {
    return this.console.text;
  }

  /** Runs argv inside the box (all namespaces of its PID 1) as root. */
  exec(
    argv: string[],
    options: { env?: Record<string, string>; timeoutMs?: number; stdin?: string } = {},
  ): Promise<BoxResult> {
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    return run(
      ['nsenter', '-t', String(this.init), '-a', 'env', '-i', ...BOX_ENV, ...env, ...argv],
      options,
    );
  }

  /** Runs a shell command inside the box as `user` through a login shell (su -), as a person would. */
  execAs(user: string, command: string, options: { timeoutMs?: number } = {}): Promise<BoxResult> {
    return this.exec(['su', '-', user, '-c', command], options);
  }

  /** A clean shutdown: systemd stops every unit, then nspawn exits. */
  async poweroff(timeoutMs = 60_000): Promise<void> {
    if (this.nspawn.exitCode !== null) return;
    this.nspawn.kill('SIGTERM');
    const exited = await Promise.race([
      this.nspawn.exited.then(() => true),
      Bun.sleep(timeoutMs).then(() => false),
    ]);
    if (!exited) {
      this.nspawn.kill('SIGKILL');
      await this.nspawn.exited;
      throw new Error(`the box did not power off within ${timeoutMs} ms`);
    }
  }
}

/** PATH and locale for commands run in the box (env -i clears the host's). */
const BOX_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LANG=C.UTF-8',
];

async function run(
  argv: string[],
  options: { timeoutMs?: number; stdin?: string } = {},
): Promise<BoxResult> {
  const proc = Bun.spawn(argv, {
    stdin: options.stdin === undefined ? 'ignore' : new TextEncoder().encode(options.stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    into.text += decoder.decode(chunk, { stream: true });
    // Bounded: a box that logs forever must not grow the test's memory.
    if (into.text.length > 200_000) into.text = into.text.slice(-100_000);
  }
}
