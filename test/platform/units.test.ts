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
import { waitFor } from '../helpers/binary.ts';
import { Box, type BoxResult, copyRoot } from '../helpers/debian-box.ts';
import { packFixture } from '../helpers/fixtures.ts';

const BUILT = resolve(import.meta.dir, '../../dist/parachute');
const work = mkdtempSync('/var/tmp/parachute-units-');
const boxes: Box[] = [];
// A test that failed midway leaves its box running: power it off (up to a minute each).
afterAll(async () => {
  for (const box of boxes) await box.poweroff().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 300_000);

/** Powers the box off and removes its disk: a finished test leaves nothing behind. */
async function discard(box: Box): Promise<void> {
  await box.poweroff();
  rmSync(box.root, { recursive: true, force: true });
}

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
  // Its own network: modules take ports 1940-1949, which the host's other tests use too.
  const box = await Box.boot(root, { privateNetwork: true });
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

/** An HTTP request made inside the box with curl; undefined when nothing answers. */
async function http(
  box: Box,
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string } | undefined> {
  const argv = ['curl', '-s', '-m', '3', '-w', '\n%{http_code}', '-X', init.method ?? 'GET'];
  for (const [name, value] of Object.entries(init.headers ?? {}))
    argv.push('-H', `${name}: ${value}`);
  if (init.body !== undefined) argv.push('--data-binary', '@-');
  argv.push(`http://127.0.0.1:${port}${path}`);
  const res = await box.exec(argv, {
    timeoutMs: 10_000,
    ...(init.body !== undefined ? { stdin: init.body } : {}),
  });
  if (res.code !== 0) return undefined;
  const cut = res.stdout.lastIndexOf('\n');
  return { status: Number(res.stdout.slice(cut + 1)), text: res.stdout.slice(0, cut) };
}

type Health = { status: string; modules: { running: number } };

async function health(box: Box, port: number): Promise<Health | undefined> {
  const res = await http(box, port, '/health');
  return res?.status === 200 ? (JSON.parse(res.text) as Health) : undefined;
}

/** Waits until the hub answers /health with `running` modules up. */
async function hubUp(box: Box, port: number, running: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the hub on ${port} with ${running} module(s) running`,
    async () => ((await health(box, port))?.modules.running === running ? true : undefined),
    timeoutMs,
  );
}

/** The module answers through the hub: its own /health behind the hub's proxy. */
function moduleAnswers(box: Box, port: number): Promise<true> {
  return waitFor(
    'fx-good to answer through the hub',
    async () => ((await http(box, port, '/fx-good/health'))?.status === 200 ? true : undefined),
    30_000,
  );
}

/** Claims the hub with a setup token, as the setup page does. */
async function claim(box: Box, port: number, token: string): Promise<number | undefined> {
  const origin = `http://127.0.0.1:${port}`;
  const res = await http(box, port, '/api/setup', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({
      bootstrap_token: token,
      username: 'admin',
      password: 'correct horse battery staple',
    }),
  });
  return res?.status;
}

const TOKEN = /parachute-bootstrap-[A-Za-z0-9_-]{43}/;

/** Reboots: a clean poweroff, then the same root booted again; the seconds from boot to /health. */
async function reboot(box: Box, port: number): Promise<{ box: Box; seconds: number }> {
  await box.poweroff();
  const started = performance.now();
  const again = await boot(box.root);
  await waitFor('the hub after reboot', () => health(again, port), 60_000);
  return { box: again, seconds: (performance.now() - started) / 1000 };
}

describe('as root: a system unit running as the parachute user', () => {
  test('install, init twice, setup-token, a module, ensure-hub, reboot, uninstall', async () => {
    const root = await prepareRoot('system', 'usr/local/bin/parachute');
    let box = await boot(root);
    // The default port: the box has a network of its own.
    const port = 1939;
    const cli = (...args: string[]) => box.exec(['parachute', ...args], { timeoutMs: 120_000 });

    // First install: written, started, answering.
    const first = ok(await cli('unit', 'install'), 'unit install');
    expect(first.trim()).toBe(
      `/etc/systemd/system/parachute.service: written; hub started on http://127.0.0.1:${port}`,
    );
    expect((await health(box, port))?.status).toBe('ok');
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
    expect(await claim(box, port, token)).toBe(201);
    const third = ok(await cli('init'), 'init after setup');
    expect(third).toContain(
      `The hub already has an admin. Sign in at http://127.0.0.1:${port}/admin`,
    );
    expect(third).not.toMatch(TOKEN);

    // A module installed through the CLI runs: from root's own folder, which the
    // hub's user cannot read, so the CLI uploads it.
    ok(await box.exec(['cp', '/srv/fixtures/good.tgz', '/root/good.tgz']), 'cp');
    ok(await cli('install', '/root/good.tgz'), 'install good.tgz');
    await hubUp(box, port, 1);
    await moduleAnswers(box, port);
    const status = ok(await cli('status'), 'status');
    expect(status).toContain(
      'service: systemd system unit /etc/systemd/system/parachute.service: active',
    );
    expect(ok(await cli('unit', 'status'), 'unit status')).toContain(
      'hub: systemd system unit /etc/systemd/system/parachute.service: active',
    );

    // Ensure the hub first: with the hub stopped, `start <module>` brings both up.
    ok(await box.exec(['systemctl', 'stop', 'parachute']), 'systemctl stop');
    expect(await health(box, port)).toBeUndefined();
    const unitDown = await cli('unit', 'status');
    expect(unitDown.code).toBe(1);
    expect(unitDown.stdout).toContain(': inactive');
    const start = ok(await cli('start', 'fx-good'), 'start fx-good');
    expect(start).toContain('fx-good: running');
    await hubUp(box, port, 1);

    // Reboot: hub and module come back by themselves.
    const rebooted = await reboot(box, port);
    box = rebooted.box;
    await hubUp(box, port, 1);
    await moduleAnswers(box, port);
    console.log(`[figure] system unit: box boot to hub /health ${rebooted.seconds.toFixed(2)} s`);

    // A hub that cannot come up: `start <module>` waits (bounded), then shows the unit's log.
    ok(await box.exec(['systemctl', 'stop', 'parachute']), 'systemctl stop');
    ok(
      await box.exec(['sh', '-c', 'cd /var/lib/parachute && mv hub.db hub.db.ok && mkdir hub.db']),
      'break hub.db',
    );
    const stuck = await cli('start', 'fx-good');
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain(`did not answer on http://127.0.0.1:${port}/health within 30 s`);
    expect(stuck.stderr).toContain('Its recent log:');
    expect(stuck.stderr).toContain('hub.db');
    expect(stuck.stderr).toContain('journalctl -u parachute');
    ok(
      await box.exec(['sh', '-c', 'cd /var/lib/parachute && rmdir hub.db && mv hub.db.ok hub.db']),
      'mend hub.db',
    );
    // Mended: the crash loop has hit systemd's start limit, and `start` still brings it back.
    expect(ok(await cli('start', 'fx-good'), 'start after the crash loop')).toContain(
      'fx-good: running',
    );
    await hubUp(box, port, 1);

    // Uninstall --purge wants a confirmation; without a terminal, -y.
    const refused = await cli('unit', 'uninstall', '--purge');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--purge deletes /var/lib/parachute');
    expect(refused.stderr).toContain('parachute unit uninstall --purge -y');
    expect(await health(box, port)).toBeDefined();
    const gone = ok(await cli('unit', 'uninstall', '--purge', '-y'), 'uninstall');
    expect(gone.trim()).toBe(
      '/etc/systemd/system/parachute.service: removed; the hub is stopped; /var/lib/parachute deleted',
    );
    expect(await health(box, port)).toBeUndefined();
    expect(existsSync(join(root, 'etc/systemd/system/parachute.service'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/parachute'))).toBe(false);
    // Without a unit, module verbs keep the clear error and name `parachute init`.
    const none = await cli('start', 'fx-good');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('parachute init');
    await discard(box);
  }, 600_000);
});

describe('as a plain user: a user unit with lingering', () => {
  test('install, init, a module, ensure-hub, reboot', async () => {
    const root = await prepareRoot('user', 'home/alice/.local/bin/parachute');
    let box = await boot(root);
    ok(await box.exec(['useradd', '-m', '-s', '/bin/bash', 'alice']), 'useradd');
    ok(await box.exec(['chown', '-R', 'alice:alice', '/home/alice']), 'chown');
    // Any port: the box has a network of its own.
    const port = 4100;
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
    expect((await health(box, port))?.status).toBe('ok');
    expect(
      ok(await box.exec(['stat', '-c', '%U', '/home/alice/.parachute/hub.db']), 'stat').trim(),
    ).toBe('alice');
    expect(ok(await cli('unit install'), 'again')).toContain('unchanged; hub already running');

    const token = TOKEN.exec(ok(await cli('init'), 'init'))?.[0] as string;
    expect(ok(await cli('setup-token'), 'setup-token').trim()).toBe(token);
    expect(await claim(box, port, token)).toBe(201);

    ok(await cli('install /srv/fixtures/good.tgz'), 'install good.tgz');
    await hubUp(box, port, 1);
    await moduleAnswers(box, port);
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
    expect(await health(box, port)).toBeUndefined();
    expect(ok(await cli('restart fx-good'), 'restart fx-good')).toContain('fx-good: running');
    await hubUp(box, port, 1);

    // Reboot: lingering starts alice's manager at boot, and with it the hub and the module.
    const rebooted = await reboot(box, port);
    box = rebooted.box;
    await hubUp(box, port, 1);
    await moduleAnswers(box, port);
    console.log(`[figure] user unit: box boot to hub /health ${rebooted.seconds.toFixed(2)} s`);

    // `logs <module>` with the hub down starts it too, then shows the module's output.
    ok(
      await box.execAs(
        'alice',
        'XDG_RUNTIME_DIR=/run/user/$(id -u) systemctl --user stop parachute',
      ),
      'systemctl --user stop',
    );
    const logs = await cli('logs fx-good -n 5');
    expect(logs.code).toBe(0);
    expect(logs.stderr).toContain('hub: not running; starting it through its unit');
    await hubUp(box, port, 1);
    await discard(box);
  }, 600_000);
});
