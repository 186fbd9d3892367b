/**
 * install.sh on this host, without installing anything: it is clean POSIX sh,
 * safe under `curl | sh`, and asks for the right release asset on every
 * OS/CPU/libc it claims to support. Which machine it is on is decided from
 * uname, ldd and sysctl, so stand-ins for those on PATH play each machine;
 * the release server records the asset asked for and answers 404, so the
 * script stops before installing. The real installs run under systemd in
 * test/platform/install-sh.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_SH } from './helpers/release-server.ts';

const script = readFileSync(INSTALL_SH, 'utf8');

async function sh(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, {
    env: options.env ?? (process.env as Record<string, string>),
    stdin: options.stdin === undefined ? 'ignore' : new TextEncoder().encode(options.stdin),
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

test('install.sh is clean POSIX sh for shellcheck', async () => {
  if (!Bun.which('shellcheck')) {
    throw new Error('shellcheck is missing: apt-get install -y shellcheck (see .ci/run)');
  }
  const result = await sh(['shellcheck', '-s', 'sh', INSTALL_SH]);
  expect(result.stdout + result.stderr).toBe('');
  expect(result.code).toBe(0);
});

test('the whole script is one function called on its last line', () => {
  const lines = script.trimEnd().split('\n');
  expect(lines.at(-1)).toBe('parachute_install "$@"');
  // Outside the function there are only comments and blank lines.
  const open = lines.indexOf('parachute_install() {');
  const close = lines.lastIndexOf('}');
  expect(open).toBeGreaterThan(0);
  const outside = [...lines.slice(0, open), ...lines.slice(close + 1, -1)];
  expect(outside.filter((line) => line.trim() !== '' && !line.startsWith('#'))).toEqual([]);
});

test('piped into sh it leaves the rest of stdin alone', async () => {
  // What follows the script on stdin runs only if the script read none of it.
  const result = await sh(['sh', '-s', '--', '--help'], {
    stdin: `${script}echo after-the-script\n`,
  });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('usage:');
  expect(result.stdout).toContain('after-the-script');
});

test('an unknown argument is refused with the usage', async () => {
  const result = await sh(['sh', INSTALL_SH, '--frobnicate']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('unknown argument: --frobnicate');
  expect(result.stderr).toContain('usage:');
});

describe('picks the release asset for the machine', () => {
  let server: ReturnType<typeof Bun.serve>;
  const asked: string[] = [];
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'install-sh-detect-'));
    server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        asked.push(new URL(request.url).pathname);
        return new Response('not found\n', { status: 404 });
      },
    });
  });
  afterAll(() => server.stop(true));

  /** A folder of stand-in commands printing what the machine would print. */
  function machine(name: string, commands: Record<string, string>): string {
    const bin = join(work, name);
    mkdirSync(bin, { recursive: true });
    for (const [command, output] of Object.entries(commands)) {
      const file = join(bin, command);
      writeFileSync(file, `#!/bin/sh\n${output}\n`);
      chmodSync(file, 0o755);
    }
    return bin;
  }

  const cases: [string, Record<string, string>, string][] = [
    [
      'an Intel Mac',
      {
        uname: 'case "$1" in -s) echo Darwin;; -m) echo x86_64;; esac',
        sysctl: sysctl('0', 'AVX2'),
      },
      'parachute-darwin-x64',
    ],
    [
      'an old Intel Mac without AVX2',
      {
        uname: 'case "$1" in -s) echo Darwin;; -m) echo x86_64;; esac',
        sysctl: sysctl('0', 'SSE4'),
      },
      'parachute-darwin-x64-baseline',
    ],
    [
      'Apple silicon',
      { uname: 'case "$1" in -s) echo Darwin;; -m) echo arm64;; esac', sysctl: sysctl('0', '') },
      'parachute-darwin-arm64',
    ],
    [
      'an x64 shell under Rosetta on Apple silicon',
      { uname: 'case "$1" in -s) echo Darwin;; -m) echo x86_64;; esac', sysctl: sysctl('1', '') },
      'parachute-darwin-arm64',
    ],
    [
      'arm64 Linux with glibc',
      {
        uname: 'case "$1" in -s) echo Linux;; -m) echo aarch64;; esac',
        ldd: 'echo "ldd (Debian GLIBC 2.36-9) 2.36"',
      },
      'parachute-linux-arm64',
    ],
    [
      'arm64 Alpine (musl)',
      {
        uname: 'case "$1" in -s) echo Linux;; -m) echo aarch64;; esac',
        ldd: 'echo "musl libc (aarch64)" >&2; exit 1',
      },
      'parachute-linux-arm64-musl',
    ],
  ];

  function sysctl(translated: string, leaf7: string): string {
    return `case "$2" in sysctl.proc_translated) echo ${translated};; machdep.cpu.leaf7_features) echo "SMEP ${leaf7} BMI2";; *) exit 1;; esac`;
  }

  test.each(cases)('%s', async (name, commands, asset) => {
    const bin = machine(name.replace(/\W+/g, '-'), commands);
    const before = asked.length;
    const result = await sh(['sh', INSTALL_SH], {
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: join(work, 'home'),
        PARACHUTE_RELEASE_URL: `http://127.0.0.1:${server.port}`,
        PARACHUTE_INSTALL_DIR: join(work, 'never-written'),
        TMPDIR: work,
      },
    });
    expect(result.code).toBe(1);
    expect(asked.slice(before)).toEqual([`/${asset}`]);
    expect(result.stderr).toContain(`could not download http://127.0.0.1:${server.port}/${asset}`);
  });

  // x64 Linux: AVX2 comes from the real /proc/cpuinfo, so this case is this machine.
  test('x64 Linux (glibc, musl) by this machine’s AVX2 flag', async () => {
    if (process.arch !== 'x64') return;
    const avx2 = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const cpu = avx2 ? '' : '-baseline';
    for (const [libc, ldd] of [
      ['', 'echo "ldd (Debian GLIBC 2.36-9) 2.36"'],
      ['-musl', 'echo "musl libc (x86_64)" >&2; exit 1'],
    ] as const) {
      const bin = machine(`linux-x64${libc}`, {
        uname: 'case "$1" in -s) echo Linux;; -m) echo x86_64;; esac',
        ldd,
      });
      const before = asked.length;
      await sh(['sh', INSTALL_SH], {
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          HOME: join(work, 'home'),
          PARACHUTE_RELEASE_URL: `http://127.0.0.1:${server.port}`,
          TMPDIR: work,
        },
      });
      expect(asked.slice(before)).toEqual([`/parachute-linux-x64${libc}${cpu}`]);
    }
  });

  test('an unsupported system is named and nothing is downloaded', async () => {
    const bin = machine('freebsd', {
      uname: 'case "$1" in -s) echo FreeBSD;; -m) echo amd64;; esac',
    });
    const before = asked.length;
    const result = await sh(['sh', INSTALL_SH], {
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: join(work, 'home'),
        PARACHUTE_RELEASE_URL: `http://127.0.0.1:${server.port}`,
        TMPDIR: work,
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('FreeBSD is not supported');
    expect(asked.length).toBe(before);
  });
});

describe('PARACHUTE_BINARY installs a binary already on this machine', () => {
  const BUILT = join(import.meta.dir, '../dist/parachute');
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'install-sh-binary-'));
  });

  const run = (binary: string, dir: string) =>
    sh(['sh', INSTALL_SH], {
      env: {
        PATH: '/usr/bin:/bin',
        HOME: join(work, 'home'),
        TMPDIR: work,
        // Nothing listens here: a download attempt would fail the run.
        PARACHUTE_RELEASE_URL: 'http://127.0.0.1:9/none',
        PARACHUTE_BINARY: binary,
        PARACHUTE_INSTALL_DIR: dir,
        PARACHUTE_NO_SERVICE: '1',
      },
    });

  test('without a download, once, then unchanged', async () => {
    const dir = join(work, 'bin');
    const first = await run(BUILT, dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Installed parachute `);
    expect(first.stdout).toContain('No service installed');
    expect(Bun.hash(readFileSync(join(dir, 'parachute')))).toBe(Bun.hash(readFileSync(BUILT)));
    const again = await run(BUILT, dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${join(dir, 'parachute')} is already parachute `);
  });

  test('a file that is not a working binary is refused and nothing is installed', async () => {
    const bogus = join(work, 'not-a-binary');
    writeFileSync(bogus, 'just text\n');
    const dir = join(work, 'bogus-bin');
    const result = await run(bogus, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not run on this machine');
    expect(existsSync(join(dir, 'parachute'))).toBe(false);
  });
});
