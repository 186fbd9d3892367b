/**
 * `parachute unit install`, `init`, `setup-token` and "ensure the hub
 * first" under a real systemd: a Debian root booted with systemd-nspawn
 * (test/helpers/debian-box.ts), as root (system unit, `parachute` user) and
 * as a plain user (user unit + linger). The box shares the host's network,
 * so the test reaches the hub on 127.0.0.1:<free port>.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../bench/lib.ts';
import { waitFor } from '../helpers/binary.ts';
import { Box, type BoxResult, copyRoot } from '../helpers/debian-box.ts';
import { packFixture } from '../helpers/fixtures.ts';

const BUILT = resolve(import.meta.dir, '../../dist/parachute');
const work = mkdtempSync('/var/tmp/parachute-units-');
const boxes: Box[] = [];
afterAll(async () => {
  for (const box of boxes) await box.poweroff().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/** A fresh root with the built binary at `binary` and the good fixture at /srv/fixtures/good.tgz. */
async function prepareRoot(name: string, binary: string): Promise<string> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  const root = await copyRoot(join(work, name));
  mkdirSync(join(root, binary, '..'), { recursive: true });
  copyFileSync(BUILT, join(root, binary));
  chmodSync(join(root, binary), 0o755);
  // Outside /tmp: the system unit has PrivateTmp, and the hub's user must read it.
  mkdirSync(join(root, 'srv/fixtures'), { recursive: true });
  copyFileSync(await packFixture('good'), join(root, 'srv/fixtures/good.tgz'));
  chmodSync(join(root, 'srv/fixtures/good.tgz'), 0o644);
  return root;
}

async function boot(root: string): Promise<Box> {
  const box = await Box.boot(root);
  boxes.push(box);
  return box;
}

/** Fails with everything the command printed when it did not exit 0. */
function ok(result: BoxResult, what: string): string {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

async function health(
  port: number,
): Promise<{ status: string; modules: { running: number } } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.ok
      ? ((await res.json()) as { status: string; modules: { running: number } })
      : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the hub answers /health with `running` modules up; returns the seconds it took. */
async function hubUp(port: number, running: number, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  await waitFor(
    `the hub on ${port} with ${running} module(s) running`,
    async () => ((await health(port))?.modules.running === running ? true : undefined),
    timeoutMs,
  );
  return (performance.now() - started) / 1000;
}

/** The module answers through the hub: its own /health behind the hub's proxy. */
async function moduleAnswers(port: number): Promise<true> {
  return waitFor(
    'fx-good to answer through the hub',
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/fx-good/health`).catch(() => null);
      return res?.status === 200 ? true : undefined;
    },
    30_000,
  );
}

/** Claims the hub with a setup token, as the setup page does. */
async function claim(port: number, token: string): Promise<number> {
  const origin = `http://127.0.0.1:${port}`;
  const res = await fetch(`${origin}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({
      bootstrap_token: token,
      username: 'admin',
      password: 'correct horse battery staple',
    }),
  });
  return res.status;
}

const TOKEN = /parachute-bootstrap-[A-Za-z0-9_-]{43}/;

/** Reboots: a clean poweroff, then the same root booted again; the seconds from boot to /health. */
async function reboot(box: Box, port: number): Promise<{ box: Box; seconds: number }> {
  await box.poweroff();
  expect(await health(port)).toBeUndefined();
  const started = performance.now();
  const again = await boot(box.root);
  await waitFor('the hub after reboot', () => health(port), 60_000);
  return { box: again, seconds: (performance.now() - started) / 1000 };
}

describe('as root: a system unit running as the parachute user', () => {
  test('install, init twice, setup-token, a module, ensure-hub, reboot, uninstall', async () => {
    const root = await prepareRoot('system', 'usr/local/bin/parachute');
    let box = await boot(root);
    const port = freePort();
    const cli = (...args: string[]) => box.exec(['parachute', ...args], { timeoutMs: 120_000 });

    // First install: written, started, answering.
    const first = ok(await cli('unit', 'install', '--port', String(port)), 'unit install');
    expect(first.trim()).toBe(
      `/etc/systemd/system/parachute.service: written; hub started on http://127.0.0.1:${port}`,
    );
    expect((await health(port))?.status).toBe('ok');
    // It runs as the dedicated user, with its home under /var/lib/parachute.
    expect(
      ok(await box.exec(['stat', '-c', '%U', '/var/lib/parachute/hub.db']), 'stat').trim(),
    ).toBe('parachute');
    const user = await box.exec(['ps', '-o', 'user=', '-C', 'parachute']);
    expect(user.stdout.trim().split('\n')).toContain('parachute');

    // Again: nothing changes, nothing restarts.
    const pid = ok(
      await box.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'parachute']),
      'show',
    );
    const second = ok(await cli('unit', 'install'), 'unit install again');
    expect(second.trim()).toBe(
      `/etc/systemd/system/parachute.service: unchanged; hub already running on http://127.0.0.1:${port}`,
    );
    expect(
      ok(await box.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'parachute']), 'show'),
    ).toBe(pid);
    // --restart restarts it (install.sh after a new binary).
    const restarted = ok(await cli('unit', 'install', '--restart'), 'unit install --restart');
    expect(restarted).toContain('unchanged; hub restarted');

    // init: the URL and this boot's token; setup-token (root reads the parachute user's file) agrees.
    const init = ok(await cli('init'), 'init');
    expect(init).toContain(`Open http://127.0.0.1:${port}/admin/setup`);
    const token = TOKEN.exec(init)?.[0] as string;
    expect(token).toBeString();
    expect(ok(await cli('setup-token'), 'setup-token').trim()).toBe(token);
    expect(ok(await cli('init'), 'init again')).toContain(token);
    expect(await claim(port, token)).toBe(201);
    const third = ok(await cli('init'), 'init after setup');
    expect(third).toContain(
      `The hub already has an admin. Sign in at http://127.0.0.1:${port}/admin`,
    );
    expect(third).not.toMatch(TOKEN);

    // A module installed through the CLI runs.
    ok(await cli('install', '/srv/fixtures/good.tgz'), 'install good.tgz');
    await hubUp(port, 1);
    await moduleAnswers(port);
    const status = ok(await cli('status'), 'status');
    expect(status).toContain(
      'service: systemd system unit /etc/systemd/system/parachute.service: active',
    );
    expect(ok(await cli('unit', 'status'), 'unit status')).toContain(
      'hub: systemd system unit /etc/systemd/system/parachute.service: active',
    );

    // Ensure the hub first: with the hub stopped, `start <module>` brings both up.
    ok(await box.exec(['systemctl', 'stop', 'parachute']), 'systemctl stop');
    expect(await health(port)).toBeUndefined();
    const unitDown = await cli('unit', 'status');
    expect(unitDown.code).toBe(1);
    expect(unitDown.stdout).toContain(': inactive');
    const start = ok(await cli('start', 'fx-good'), 'start fx-good');
    expect(start).toContain('fx-good: running');
    await hubUp(port, 1);

    // Reboot: hub and module come back by themselves.
    const rebooted = await reboot(box, port);
    box = rebooted.box;
    await hubUp(port, 1);
    await moduleAnswers(port);
    console.log(`[figure] system unit: box boot to hub /health ${rebooted.seconds.toFixed(2)} s`);

    // Uninstall --purge wants a confirmation; without a terminal, -y.
    const refused = await cli('unit', 'uninstall', '--purge');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--purge deletes /var/lib/parachute');
    expect(refused.stderr).toContain('parachute unit uninstall --purge -y');
    expect(await health(port)).toBeDefined();
    const gone = ok(await cli('unit', 'uninstall', '--purge', '-y'), 'uninstall');
    expect(gone.trim()).toBe(
      '/etc/systemd/system/parachute.service: removed; the hub is stopped; /var/lib/parachute deleted',
    );
    expect(await health(port)).toBeUndefined();
    expect(existsSync(join(root, 'etc/systemd/system/parachute.service'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/parachute'))).toBe(false);
    // Without a unit, module verbs keep the clear error and name `parachute init`.
    const none = await cli('start', 'fx-good');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('parachute init');
  }, 600_000);
});

describe('as a plain user: a user unit with lingering', () => {
  test('install, init, a module, ensure-hub, reboot', async () => {
    const root = await prepareRoot('user', 'home/alice/.local/bin/parachute');
    let box = await boot(root);
    ok(await box.exec(['useradd', '-m', '-s', '/bin/bash', 'alice']), 'useradd');
    ok(await box.exec(['chown', '-R', 'alice:alice', '/home/alice']), 'chown');
    const port = freePort();
    const cli = (args: string) =>
      box.execAs('alice', `~/.local/bin/parachute ${args}`, { timeoutMs: 120_000 });

    // Without polkit a user may not enable lingering: the CLI says who must, and writes nothing.
    const denied = await cli(`unit install --port ${port}`);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Ask an admin to run `loginctl enable-linger alice`');
    expect(existsSync(join(root, 'home/alice/.config/systemd/user/parachute.service'))).toBe(false);
    ok(await box.exec(['loginctl', 'enable-linger', 'alice']), 'enable-linger');

    const first = ok(await cli(`unit install --port ${port}`), 'unit install');
    expect(first.trim()).toBe(
      `/home/alice/.config/systemd/user/parachute.service: written; hub started on http://127.0.0.1:${port}`,
    );
    expect(existsSync(join(root, 'var/lib/systemd/linger/alice'))).toBe(true);
    expect((await health(port))?.status).toBe('ok');
    expect(
      ok(await box.exec(['stat', '-c', '%U', '/home/alice/.parachute/hub.db']), 'stat').trim(),
    ).toBe('alice');
    expect(ok(await cli('unit install'), 'again')).toContain('unchanged; hub already running');

    const token = TOKEN.exec(ok(await cli('init'), 'init'))?.[0] as string;
    expect(ok(await cli('setup-token'), 'setup-token').trim()).toBe(token);
    expect(await claim(port, token)).toBe(201);

    ok(await cli('install /srv/fixtures/good.tgz'), 'install good.tgz');
    await hubUp(port, 1);
    await moduleAnswers(port);
    expect(ok(await cli('status'), 'status')).toContain(
      'service: systemd user unit /home/alice/.config/systemd/user/parachute.service: active',
    );

    // Ensure the hub first, through the user's manager.
    ok(
      await box.execAs(
        'alice',
        'XDG_RUNTIME_DIR=/run/user/$(id -u) systemctl --user stop parachute',
      ),
      'systemctl --user stop',
    );
    expect(await health(port)).toBeUndefined();
    expect(ok(await cli('restart fx-good'), 'restart fx-good')).toContain('fx-good: running');
    await hubUp(port, 1);

    // Reboot: lingering starts alice's manager at boot, and with it the hub and the module.
    const rebooted = await reboot(box, port);
    box = rebooted.box;
    await hubUp(port, 1);
    await moduleAnswers(port);
    console.log(`[figure] user unit: box boot to hub /health ${rebooted.seconds.toFixed(2)} s`);
  }, 600_000);
});
