/**
 * install.sh under a real systemd (issue 17, deploy.md "install.sh"): a Debian
 * root booted with systemd-nspawn (test/helpers/debian-box.ts) fetches
 * install.sh from a release server on loopback with `curl -fsSL … | sh`, as
 * the README tells a person to, then the hub must answer, run a module
 * installed through the CLI, and come back by itself after a reboot.
 *
 * The box shares the host's network: the release server and the hub inside
 * (on a free port passed as PORT) are both on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../bench/lib.ts';
import { ADMIN, ApiClient } from '../helpers/api.ts';
import { runBinary, waitFor } from '../helpers/binary.ts';
import { Box, copyRoot } from '../helpers/debian-box.ts';
import { fixtureDir, fixtureManifest } from '../helpers/fixtures.ts';
import {
  assetForThisMachine,
  INSTALL_SH,
  ReleaseServer,
  sha256,
} from '../helpers/release-server.ts';

const BUILT = resolve(import.meta.dir, '../../dist/parachute');
const BUN = resolve(import.meta.dir, '../../node_modules/.bin/bun');
const MINUTE = 60_000;

/** The README's "Install on a VPS" block, with the release folder swapped for the local server's. */
function readmeCommands(section: string, releaseUrl: string): string[] {
  const readme = readFileSync(resolve(import.meta.dir, '../../README.md'), 'utf8');
  const start = readme.indexOf(`### ${section}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !block) throw new Error(`README has no sh block under "### ${section}"`);
  return (block[1] ?? '')
    .split('\n')
    .map((line: string) => line.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .map((line: string) =>
      line.replaceAll(
        'https://github.com/openparachute/parachute-hub/releases/latest/download',
        releaseUrl,
      ),
    );
}

async function health(port: number): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
  return res?.status === 200 ? res.status : undefined;
}

/** MainPID and ActiveEnterTimestamp of the hub's unit: they change only when systemd restarts it. */
async function unitIdentity(box: Box, user?: string): Promise<string> {
  const show = 'systemctl show parachute -p MainPID -p ActiveEnterTimestamp';
  const result = user
    ? await box.execAs(
        user,
        `XDG_RUNTIME_DIR=/run/user/$(id -u) ${show.replace('systemctl', 'systemctl --user')}`,
      )
    : await box.exec(['sh', '-c', show]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/MainPID=[1-9]/);
  return result.stdout.trim();
}

/** Waits for a module through the hub's proxy; on timeout says what the hub and systemd say. */
async function moduleAnswers(box: Box, hub: string, timeoutMs: number, user?: string) {
  try {
    return await waitFor(
      'fx-good through the hub',
      async () => {
        const r = await fetch(`${hub}/fx-good/health`).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    const status = user
      ? await box.execAs(
          user,
          '~/.local/bin/parachute status; journalctl --user -u parachute -n 30',
        )
      : await box.exec(['sh', '-c', 'parachute status; journalctl -u parachute -n 30 --no-pager']);
    throw new Error(`${(error as Error).message}\n${said(status)}`);
  }
}

/**
 * fx-good packed with its manifest on a free port: the box shares the host's
 * network, where other test runs' modules take ports near the fixture's own
 * (19xx), so a port free at install could be taken by the time the box reboots.
 */
async function fixtureOnFreePort(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fx-good-'));
  cpSync(fixtureDir('good'), dir, { recursive: true });
  const manifest = join(dir, '.parachute/module.json');
  writeFileSync(manifest, JSON.stringify({ ...fixtureManifest('good'), port: freePort() }));
  const packed = await runBinary(BUN, ['pm', 'pack', '--destination', dir, '--ignore-scripts'], {
    cwd: dir,
  });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (packed.code !== 0 || !tgz) throw new Error(`bun pm pack failed:\n${said(packed)}`);
  return join(dir, tgz);
}

function said(result: { code: number; stdout: string; stderr: string }): string {
  return `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
}

let work: string;
let release: ReleaseServer;
let fixtureTgz: string;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  work = mkdtempSync(join(tmpdir(), 'install-sh-'));
  release = new ReleaseServer(assetForThisMachine(), { binary: BUILT });
  fixtureTgz = await fixtureOnFreePort();
});

afterAll(() => release?.stop());

describe('as root on a fresh Debian host', () => {
  let box: Box;
  let root: string;
  const port = freePort();
  const hub = `http://127.0.0.1:${port}`;
  const env = () => ({ PARACHUTE_RELEASE_URL: release.url, PORT: String(port) });
  const curlSh = (args = '') => ['sh', '-c', `curl -fsSL ${release.url}/install.sh | sh${args}`];

  beforeAll(async () => {
    root = await copyRoot(join(work, 'root-box'));
    mkdirSync(join(root, 'srv'), { recursive: true });
    copyFileSync(fixtureTgz, join(root, 'srv/fx-good.tgz'));
    box = await Box.boot(root);
  }, 5 * MINUTE);

  afterAll(async () => {
    release.publish({ binary: BUILT });
    await box?.poweroff();
  });

  test('a script cut off mid-way runs nothing', async () => {
    const script = await Bun.file(INSTALL_SH).text();
    // Cut inside the function, and just before the call on the last line.
    for (const cut of [script.length / 2, script.lastIndexOf('parachute_install "$@"')]) {
      release.publish({ binary: BUILT, script: script.slice(0, Math.floor(cut)) });
      const before = release.requests.length;
      const result = await box.exec(curlSh(), { env: env() });
      expect(result.stdout).toBe('');
      // It downloaded nothing past itself and left nothing behind.
      expect(release.requests.slice(before)).toEqual(['/install.sh']);
      expect(existsSync(join(root, 'usr/local/bin/parachute'))).toBe(false);
    }
  });

  test('a binary whose checksum does not match installs nothing', async () => {
    release.publish({ binary: BUILT, sums: `${'0'.repeat(64)}  ${release.asset}\n` });
    const result = await box.exec(curlSh(), { env: env() });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('checksum mismatch');
    expect(result.stderr).toContain('nothing was installed');
    expect(existsSync(join(root, 'usr/local/bin/parachute'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/parachute.service'))).toBe(false);
    const leftovers = await box.exec([
      'sh',
      '-c',
      'ls -d /tmp/parachute-install.* 2>/dev/null; id parachute',
    ]);
    expect(leftovers.stdout).toBe('');
  });

  let installSeconds = 0;
  test(
    'the README commands install, start and claim the hub',
    async () => {
      // A trailing line after the script: it runs only if nothing in the install read stdin.
      const script = `${await Bun.file(INSTALL_SH).text()}echo stdin-untouched\n`;
      release.publish({ binary: BUILT, script });
      const [install, setupToken] = readmeCommands('Install on a VPS', release.url);
      expect(install).toBe(`curl -fsSL ${release.url}/install.sh | sh`);
      const started = performance.now();
      const result = await box.exec(['sh', '-c', install as string], {
        env: env(),
        timeoutMs: 3 * MINUTE,
      });
      expect(result.code, said(result)).toBe(0);
      await waitFor('the hub', () => health(port), 5_000);
      installSeconds = (performance.now() - started) / 1000;
      console.log(`[figure] install.sh to /health: ${installSeconds.toFixed(1)} s`);
      expect(result.stdout).toContain('stdin-untouched');
      expect(release.requests).toContain(`/${release.asset}`);
      expect(result.stdout).toContain(`http://127.0.0.1:${port}/admin/`);
      expect(result.stdout).toContain('parachute setup-token');
      expect(result.stdout).toContain('journalctl -u parachute | grep parachute-bootstrap-');
      // The unit runs the hub as its own user, with its home under /var/lib.
      const user = await box.exec([
        'sh',
        '-c',
        'ps -o user= -p "$(systemctl show -p MainPID --value parachute)"',
      ]);
      expect(user.stdout.trim()).toBe('parachute');
      expect(sha256(join(root, 'usr/local/bin/parachute'))).toBe(sha256(BUILT));

      const token = await box.exec(['sh', '-c', setupToken as string], { env: env() });
      expect(token.code, said(token)).toBe(0);
      const bootstrap = /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(token.stdout)?.[0];
      expect(bootstrap).toBeDefined();
      const res = await new ApiClient(hub).post('/api/setup', {
        bootstrap_token: bootstrap,
        ...ADMIN,
      });
      expect(res.status, res.text).toBe(201);
    },
    5 * MINUTE,
  );

  test(
    'a module installed through the CLI runs',
    async () => {
      const result = await box.exec(['parachute', 'install', '/srv/fx-good.tgz'], {
        timeoutMs: 2 * MINUTE,
      });
      expect(result.code, said(result)).toBe(0);
      const res = await moduleAnswers(box, hub, 30_000);
      expect(res.status).toBe(200);
    },
    3 * MINUTE,
  );

  test(
    'running it again with the same binary restarts nothing',
    async () => {
      const before = await unitIdentity(box);
      const result = await box.exec(curlSh(), { env: env(), timeoutMs: 2 * MINUTE });
      expect(result.code, said(result)).toBe(0);
      expect(result.stdout).toContain('/usr/local/bin/parachute is already');
      expect(result.stdout).toContain('parachute.service: unchanged; hub already running');
      expect(await unitIdentity(box)).toBe(before);
    },
    3 * MINUTE,
  );

  test(
    'a new binary replaces the running one and restarts the hub only once confirmed',
    async () => {
      // A different file that is still a working hub: bytes after the executable are ignored.
      const newer = join(work, 'parachute-newer');
      copyFileSync(BUILT, newer);
      appendFileSync(newer, '\nnewer release\n');
      release.publish({ binary: newer });
      const before = await unitIdentity(box);

      // No terminal to ask on: it stops, changes nothing and prints the command to re-run.
      const refused = await box.exec(curlSh(), { env: env(), timeoutMs: 2 * MINUTE });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`curl -fsSL ${release.url}/install.sh | sh -s -- -y`);
      expect(sha256(join(root, 'usr/local/bin/parachute'))).toBe(sha256(BUILT));
      expect(await unitIdentity(box)).toBe(before);

      // On a terminal (script(1) gives the pipeline one) it asks there; "n" changes nothing.
      const [, , pipeline] = curlSh();
      const declined = await box.exec(
        ['script', '-q', '-e', '-c', pipeline as string, '/dev/null'],
        {
          env: env(),
          stdin: 'n\n',
          timeoutMs: 2 * MINUTE,
        },
      );
      expect(declined.stdout).toContain('restart the running hub');
      expect(declined.stdout).toContain('stopped; nothing was changed');
      expect(declined.code).toBe(1);
      expect(sha256(join(root, 'usr/local/bin/parachute'))).toBe(sha256(BUILT));
      expect(await unitIdentity(box)).toBe(before);

      const result = await box.exec(curlSh(' -s -- -y'), { env: env(), timeoutMs: 2 * MINUTE });
      expect(result.code, said(result)).toBe(0);
      expect(result.stdout).toContain('Upgraded /usr/local/bin/parachute');
      expect(sha256(join(root, 'usr/local/bin/parachute'))).toBe(sha256(newer));
      expect(await unitIdentity(box)).not.toBe(before);
      expect(await health(port)).toBe(200);
      // The module comes back under the new hub.
      await moduleAnswers(box, hub, 30_000);
    },
    4 * MINUTE,
  );

  test(
    'after a reboot the hub and its module come back by themselves',
    async () => {
      await box.poweroff();
      expect(await health(port)).toBeUndefined();
      const booted = performance.now();
      box = await Box.boot(root);
      await waitFor('the hub after the reboot', () => health(port), MINUTE);
      const seconds = (performance.now() - booted) / 1000;
      console.log(`[figure] box boot to hub /health: ${seconds.toFixed(1)} s`);
      const res = await moduleAnswers(box, hub, MINUTE);
      expect(res.status).toBe(200);
    },
    4 * MINUTE,
  );
});

describe('as a user without root, and binary-only', () => {
  let box: Box;
  let root: string;
  const port = freePort();
  const hub = `http://127.0.0.1:${port}`;
  const asAlice = (command: string, timeoutMs = 3 * MINUTE) =>
    box.execAs('alice', `PARACHUTE_RELEASE_URL=${release.url} PORT=${port} ${command}`, {
      timeoutMs,
    });

  beforeAll(async () => {
    root = await copyRoot(join(work, 'user-box'));
    box = await Box.boot(root);
    const added = await box.exec(['useradd', '-m', '-s', '/bin/bash', 'alice']);
    expect(added.code, said(added)).toBe(0);
    copyFileSync(fixtureTgz, join(root, 'home/alice/fx-good.tgz'));
    await box.exec(['chown', 'alice:', '/home/alice/fx-good.tgz']);
  }, 5 * MINUTE);

  afterAll(async () => {
    await box?.poweroff();
  });

  test(
    'PARACHUTE_NO_SERVICE=1 installs the binary and nothing else',
    async () => {
      const result = await box.exec(['sh', '-c', `curl -fsSL ${release.url}/install.sh | sh`], {
        env: { PARACHUTE_RELEASE_URL: release.url, PORT: String(port), PARACHUTE_NO_SERVICE: '1' },
      });
      expect(result.code, said(result)).toBe(0);
      expect(sha256(join(root, 'usr/local/bin/parachute'))).toBe(sha256(BUILT));
      expect(existsSync(join(root, 'etc/systemd/system/parachute.service'))).toBe(false);
      expect(existsSync(join(root, 'var/lib/parachute'))).toBe(false);
      const user = await box.exec(['sh', '-c', 'id parachute 2>&1; systemctl is-active parachute']);
      expect(user.stdout).toContain('no such user');
      expect(user.stdout).toContain('inactive');
      expect(await health(port)).toBeUndefined();
    },
    3 * MINUTE,
  );

  test(
    'without polkit a user is told to ask an admin for lingering, and no unit is written',
    async () => {
      const result = await asAlice(`sh -c 'curl -fsSL ${release.url}/install.sh | sh'`);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Ask an admin to run `loginctl enable-linger alice`');
      expect(existsSync(join(root, 'home/alice/.config/systemd/user/parachute.service'))).toBe(
        false,
      );
      expect(await health(port)).toBeUndefined();
    },
    3 * MINUTE,
  );

  test(
    'after the admin enables lingering, the user installs with a user unit',
    async () => {
      const linger = await box.exec(['loginctl', 'enable-linger', 'alice']);
      expect(linger.code, said(linger)).toBe(0);
      const started = performance.now();
      const result = await asAlice(`sh -c 'curl -fsSL ${release.url}/install.sh | sh'`);
      expect(result.code, said(result)).toBe(0);
      await waitFor('the hub', () => health(port), 5_000);
      console.log(
        `[figure] install.sh to /health (user): ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      expect(sha256(join(root, 'home/alice/.local/bin/parachute'))).toBe(sha256(BUILT));
      expect(existsSync(join(root, 'home/alice/.config/systemd/user/parachute.service'))).toBe(
        true,
      );
      expect(existsSync(join(root, 'var/lib/systemd/linger/alice'))).toBe(true);
      expect(result.stdout).toContain('journalctl --user -u parachute | grep parachute-bootstrap-');
      const owner = await box.exec([
        'sh',
        '-c',
        `ps -o user= -p "$(pgrep -u alice -f 'parachute serve' | head -1)"`,
      ]);
      expect(owner.stdout.trim()).toBe('alice');

      const token = await box.execAs('alice', '~/.local/bin/parachute setup-token');
      expect(token.code, said(token)).toBe(0);
      const bootstrap = /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(token.stdout)?.[0];
      const res = await new ApiClient(hub).post('/api/setup', {
        bootstrap_token: bootstrap,
        ...ADMIN,
      });
      expect(res.status, res.text).toBe(201);

      const installed = await box.execAs('alice', '~/.local/bin/parachute install ~/fx-good.tgz', {
        timeoutMs: 2 * MINUTE,
      });
      expect(installed.code, said(installed)).toBe(0);
      await moduleAnswers(box, hub, 30_000, 'alice');
    },
    5 * MINUTE,
  );

  test(
    'running it again restarts nothing',
    async () => {
      const before = await unitIdentity(box, 'alice');
      const result = await asAlice(`sh -c 'curl -fsSL ${release.url}/install.sh | sh'`);
      expect(result.code, said(result)).toBe(0);
      expect(await unitIdentity(box, 'alice')).toBe(before);
    },
    3 * MINUTE,
  );

  test(
    'after a reboot the user hub and its module come back without a login',
    async () => {
      await box.poweroff();
      const booted = performance.now();
      box = await Box.boot(root);
      await waitFor('the user hub after the reboot', () => health(port), MINUTE);
      console.log(
        `[figure] box boot to hub /health (user unit): ${((performance.now() - booted) / 1000).toFixed(1)} s`,
      );
      await moduleAnswers(box, hub, MINUTE, 'alice');
    },
    4 * MINUTE,
  );
});
