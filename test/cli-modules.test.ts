import { beforeAll, describe, expect, test } from 'bun:test';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { freshHub } from './helpers/api.ts';
import { isolatedBinary, ready, runBinary, spawnHub, waitFor } from './helpers/binary.ts';
import { packFixture, packFixtureAt } from './helpers/fixtures.ts';
import { SEED, trackHubs } from './helpers/modules.ts';

// The CLI verbs of product.md ("One runtime everywhere") against the real binary and a real hub.

const hubs = trackHubs();

/** A running hub and a `cli` that runs the binary against its PARACHUTE_HOME. */
async function hubAndCli(env: Record<string, string> = SEED) {
  const started = await freshHub(env);
  hubs.push(started.hub);
  const cli = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
    runBinary(started.bin, args, {
      cwd: options.cwd ?? started.dir,
      env: { PARACHUTE_HOME: started.hub.home, ...options.env },
    });
  return { ...started, cli };
}

/** A port nothing listens on: bound by us, then released. */
function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

// A stack trace means an error escaped the operator-facing messages.
const noStack = (text: string) => expect(text).not.toMatch(/unexpected error|\n\s+at /);

describe('a module through the CLI', () => {
  let ctx: Awaited<ReturnType<typeof hubAndCli>>;
  const statusJson = async () =>
    JSON.parse((await ctx.cli(['status', '--json'])).stdout) as {
      hub: Record<string, unknown>;
      modules: Record<string, unknown>[];
    };
  const moduleState = async () => (await statusJson()).modules.find((m) => m.module === 'fx-good');
  beforeAll(async () => {
    ctx = await hubAndCli();
  });

  test('install a .tgz given as a relative path: progress is printed, exit 0, the module runs', async () => {
    const tgz = await packFixture('good');
    // Relative to the CLI's cwd, which is not the hub's: the CLI must send an absolute path.
    const res = await ctx.cli(['install', `./${basename(tgz)}`], { cwd: dirname(tgz) });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(
      'installed parachute-fixture-good@1.0.0 as parachute-fixture-good',
    );
    expect(res.stdout).toContain('fx-good: running');
    expect(await moduleState()).toMatchObject({ state: 'running', version: '1.0.0' });
  });

  test('status prints the hub line and a table row with name, state, pid and port', async () => {
    const m = (await moduleState()) as { pid: number; port: number };
    const res = await ctx.cli(['status']);
    expect(res.code).toBe(0);
    expect(res.stdout).toStartWith(`hub ${ctx.url} (parachute `);
    expect(res.stdout).toContain('1 module, 1 running');
    expect(res.stdout).toMatch(
      /NAME\s+STATE\s+PID\s+PORT\s+UPTIME\s+RESTARTS\s+VERSION\s+LAST ERROR/,
    );
    expect(res.stdout).toMatch(
      new RegExp(`fx-good\\s+running\\s+${m.pid}\\s+${m.port}\\s+\\d+s\\s+0\\s+1\\.0\\.0\\s+-`),
    );
  });

  test('status --json names the hub as well as its modules', async () => {
    const { hub, modules } = await statusJson();
    const runtime = JSON.parse(readFileSync(join(ctx.hub.home, 'run', 'hub.json'), 'utf8'));
    expect(hub).toEqual({
      origin: ctx.url,
      pid: ctx.hub.proc.pid,
      port: Number(new URL(ctx.url).port),
      version: expect.any(String),
      home: ctx.hub.home,
      started_at: runtime.started_at,
      modules: { running: 1, total: 1 },
      // No backup target set up on this hub.
      backups: {
        state: 'off',
        message: 'Scheduled backups are not set up.',
        last_good_at: null,
        next_run_at: null,
      },
      // Who runs it: started by hand here, so no unit (`container` on a machine with /.dockerenv).
      service: { manager: existsSync('/.dockerenv') ? 'container' : null, unit: null, state: null },
    });
    expect(modules.map((m) => m.module)).toEqual(['fx-good']);
  });

  test('a module running again after a crash shows no last error', async () => {
    const before = (await moduleState()) as { port: number; restarts: number };
    await fetch(`http://127.0.0.1:${before.port}/crash`, { method: 'POST' }).catch(() => {});
    const after = await waitFor('fx-good restarted and running', async () => {
      const m = await moduleState();
      return m?.state === 'running' && m.restarts === before.restarts + 1 ? m : undefined;
    });
    expect(after.lastError).toBeNull();
    const table = await ctx.cli(['status']);
    expect(table.stdout).toMatch(/fx-good\s+running\s.*\s-\n$/);
    // Why it restarted stays in its log.
    expect((await ctx.cli(['logs', 'fx-good'])).stdout).toContain(
      'exited unexpectedly (exit code 3)',
    );
  });

  test('logs -n 5 prints at most 5 timestamped lines, including the listening line', async () => {
    const res = await ctx.cli(['logs', 'fx-good', '-n', '5']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z (out|err) /);
    expect(res.stdout).toMatch(/ out fx-good listening on \d+/);
  });

  test('stop, start and restart a module by its short or row name', async () => {
    const stop = await ctx.cli(['stop', 'fx-good']);
    expect([stop.code, stop.stdout]).toEqual([0, 'fx-good: stopped\n']);
    expect((await moduleState())?.state).toBe('stopped');

    const start = await ctx.cli(['start', 'parachute-fixture-good']);
    expect(start.code).toBe(0);
    expect(start.stdout).toBe(
      'parachute-fixture-good: starting\nparachute-fixture-good: running\n',
    );

    const before = (await moduleState())?.pid;
    const restart = await ctx.cli(['restart', 'fx-good']);
    expect(restart.code).toBe(0);
    expect(restart.stdout).toEndWith('fx-good: running\n');
    const after = await moduleState();
    expect(after?.state).toBe('running');
    expect(after?.pid).not.toBe(before);
  });

  test('upgrade follows the operation and waits for the module to run again', async () => {
    const res = await ctx.cli(['upgrade', 'fx-good']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('$ bun add');
    expect(res.stdout).toEndWith('fx-good: running\n');
  });

  test('upgrade --file takes a newer .tgz of the same package and refuses another', async () => {
    const v2 = await packFixtureAt('good', '2.0.0');
    const res = await ctx.cli(['upgrade', 'fx-good', '--file', `./${basename(v2)}`], {
      cwd: dirname(v2),
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('parachute-fixture-good is now 2.0.0 (was 1.0.0)');
    expect((await moduleState())?.version).toBe('2.0.0');
    const other = await ctx.cli(['upgrade', 'fx-good', '--file', await packFixture('crash')]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(
      'that package is parachute-fixture-crash, not parachute-fixture-good',
    );
    noStack(other.stderr);
    expect((await moduleState())?.version).toBe('2.0.0');
    const both = await ctx.cli(['upgrade', 'fx-good', '--channel', 'next', '--file', v2]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --channel or --file, not both');
  });

  test('logs -f prints the buffer, then lines written later, until interrupted', async () => {
    const port = (await moduleState())?.port as number;
    await fetch(`http://127.0.0.1:${port}/log?line=before-follow`);
    const proc = Bun.spawn([ctx.bin, 'logs', '-f', 'fx-good'], {
      env: { ...process.env, PARACHUTE_HOME: ctx.hub.home },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    let out = '';
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    await waitFor('the buffered line', () => (out.includes('before-follow') ? true : undefined));
    await fetch(`http://127.0.0.1:${port}/log?line=after-follow`);
    await waitFor('the live line', () => (out.includes('out after-follow') ? true : undefined));
    proc.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stderr).text()).toBe('');
  });

  test('an unknown module name is refused with the list of installed modules', async () => {
    for (const args of [
      ['stop', 'nope'],
      ['logs', 'nope'],
      ['uninstall', 'nope'],
    ]) {
      const res = await ctx.cli(args);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('No module named nope. (unknown_module)');
      expect(res.stderr).toContain('Installed modules: fx-good (parachute-fixture-good).');
      noStack(res.stderr);
    }
  });

  test('uninstall --purge asks for --yes without a terminal, then removes module and data', async () => {
    const data = join(ctx.hub.home, 'fx-good');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'notes.txt'), 'module data');

    const refused = await ctx.cli(['uninstall', 'fx-good', '--purge']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('parachute uninstall fx-good --purge --yes');
    expect(existsSync(data)).toBe(true);

    const res = await ctx.cli(['uninstall', 'fx-good', '--purge', '--yes']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('fx-good: uninstalled, data deleted\n');
    expect(existsSync(data)).toBe(false);
    expect((await statusJson()).modules).toEqual([]);
    const status = await ctx.cli(['status']);
    expect(status.stdout).toContain('0 modules, 0 running');
    expect(status.stdout).toContain('parachute install <package>');
  });
});

describe('errors say what to do', () => {
  test('no hub running: names PARACHUTE_HOME and `parachute serve`, exit 1', async () => {
    const { bin, dir } = isolatedBinary();
    const home = join(dir, 'no-hub');
    for (const args of [['status'], ['logs', 'x'], ['stop', 'x'], ['install', 'some-package']]) {
      const res = await runBinary(bin, args, {
        cwd: dir,
        env: { PARACHUTE_HOME: home, PORT: String(freePort()) },
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`the hub is not running (PARACHUTE_HOME=${home})`);
      expect(res.stderr).toContain('`parachute serve`');
      noStack(res.stderr);
    }
  });

  test('without a hub in its home the CLI says so, even when another home’s hub answers on PORT', async () => {
    const other = await hubAndCli();
    const { bin, dir } = isolatedBinary();
    const home = join(dir, 'empty-home');
    const res = await runBinary(bin, ['status'], {
      cwd: dir,
      env: { PARACHUTE_HOME: home, PORT: new URL(other.url).port },
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(
      `the hub is not running (PARACHUTE_HOME=${home}): no live hub has written ${home}/run/hub.json.`,
    );
    noStack(res.stderr);
  });

  test('a module.json with mistakes: install names each field and what it must be', async () => {
    const { cli } = await hubAndCli();
    const tgz = await packFixture('bad-manifest');
    const res = await cli(['install', tgz]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `parachute: install of ${tgz} failed: parachute-fixture-bad-manifest's module manifest is invalid: port: expected a number, got the string "1981"; health: required\n`,
    );
    noStack(res.stderr);
    // Nothing is left behind.
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as { modules: unknown[] };
    expect(status.modules).toEqual([]);
  });

  test('a missing or refused operator token points at `parachute token rotate`', async () => {
    const { cli, hub } = await hubAndCli();
    const tokenFile = join(hub.home, 'operator.token');
    rmSync(tokenFile);
    const missing = await cli(['status']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`there is no operator token at ${hub.home}/operator.token`);
    expect(missing.stderr).toContain('`parachute token rotate`');

    writeFileSync(tokenFile, 'not-a-jwt\n');
    const refused = await cli(['status']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the hub refused the operator token');
    expect(refused.stderr).toContain('`parachute token rotate`');
    noStack(refused.stderr);
  });

  test('a hub that has no admin yet says where to finish setup', async () => {
    const { cli, url } = await hubAndCli({});
    const res = await cli(['status']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('(setup_required)');
    expect(res.stderr).toContain(`Setup page: ${url}/admin/setup`);
  });

  test('start without a module and no service installed: says to run `parachute serve`, exit 1', async () => {
    // The system unit is outside the test's control; the user unit and agent live under HOME.
    expect(existsSync('/etc/systemd/system/parachute.service')).toBe(false);
    const { bin, dir } = isolatedBinary();
    const res = await runBinary(bin, ['start'], {
      cwd: dir,
      env: { PARACHUTE_HOME: join(dir, 'home'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no service is installed for the hub');
    expect(res.stderr).toContain('`parachute serve`');
    noStack(res.stderr);
  });

  test('a --manifest file that is not JSON is named in the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parachute-manifest-'));
    const file = join(dir, 'module.json');
    writeFileSync(file, '{"name": ');
    const { bin } = isolatedBinary();
    const res = await runBinary(bin, ['install', 'http-server', '--manifest', file], {
      env: { PARACHUTE_HOME: join(dir, 'home') },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`manifest file ${file} is not valid JSON`);
    noStack(res.stderr);
  });
});

describe('from a checkout, after `npm start`', () => {
  test('`npm run cli -- <command>` reaches the hub `npm start` serves; plain `parachute` says how', async () => {
    // A checkout as `npm start` leaves it: package.json, dist/parachute, and a
    // hub serving from ./.parachute (started here the way the script does).
    const { bin, dir } = isolatedBinary();
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, '../package.json'), 'utf8'));
    expect(pkg.scripts.start).toEndWith('&& PARACHUTE_HOME=./.parachute ./dist/parachute serve');
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    mkdirSync(join(dir, 'dist'));
    linkSync(bin, join(dir, 'dist', 'parachute'));
    const hub = spawnHub('./dist/parachute', {
      cwd: dir,
      env: { ...SEED, PARACHUTE_HOME: './.parachute' },
    });
    hubs.push(hub);
    await ready(await hub.listening());
    // HOME elsewhere, so the default home (~/.parachute) has no hub.
    const env = { HOME: join(dir, 'user'), PARACHUTE_HOME: '' };

    const plain = await runBinary('./dist/parachute', ['status'], { cwd: dir, env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(
      `the hub is not running (PARACHUTE_HOME=${dir}/user/.parachute)`,
    );
    expect(plain.stderr).toContain(
      `A hub started with \`npm start\` is running from ./.parachute here (pid ${hub.proc.pid}): run \`npm run cli -- <command>\``,
    );

    const viaNpm = await runBinary('npm', ['run', '--silent', 'cli', '--', 'status', '--json'], {
      cwd: dir,
      env,
    });
    expect(viaNpm.stderr).toBe('');
    expect(viaNpm.code).toBe(0);
    expect(JSON.parse(viaNpm.stdout).hub).toMatchObject({
      pid: hub.proc.pid,
      home: join(dir, '.parachute'),
    });
  });
});
