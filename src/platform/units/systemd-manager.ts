import { existsSync } from 'node:fs';
import { ensureHome } from '../home.ts';
import { OperatorError } from '../operator-error.ts';
import type { StartOutcome, UnitManager } from './manager.ts';
import { isUp } from './manager.ts';
import { run, runOrFail, userManagerEnv } from './run.ts';
import { SYSTEM_HOME, UNIT_NAME, type UnitConfig } from './unit-config.ts';

/** `systemctl [--user]` for the hub's unit: the system unit as root, the user's unit otherwise. */
export function systemdManager(scope: 'system' | 'user', env = process.env): UnitManager {
  const user = scope === 'user';
  const runEnv = user ? userManagerEnv(env) : env;
  const ctl = (...args: string[]) => ['systemctl', ...(user ? ['--user'] : []), ...args];
  const must = (argv: string[], hint: string) => runOrFail(argv, hint, runEnv);
  const hint = user
    ? 'Is your systemd user manager running? `loginctl enable-linger $USER` starts it; check `systemctl --user status`.'
    : 'Check `systemctl status parachute` and `journalctl -u parachute`.';
  const state = async () => (await run(ctl('is-active', UNIT_NAME), runEnv)).stdout.trim();
  const recentLog = async () => {
    const argv = user
      ? ['journalctl', '--user-unit', UNIT_NAME, '-n', '40', '--no-pager', '-q']
      : ['journalctl', '-u', UNIT_NAME, '-n', '40', '--no-pager', '-q'];
    const out = await run(argv, runEnv).catch(() => null);
    return out ? `${out.stdout}${out.stderr}`.trim() : '';
  };
  /** start or restart; a failure carries the unit's journal. */
  const drive = async (verb: 'start' | 'restart') => {
    const done = await run(ctl(verb, UNIT_NAME), runEnv);
    if (done.code === 0) return;
    const log = await recentLog();
    throw new OperatorError(
      `\`${ctl(verb, UNIT_NAME).join(' ')}\` failed (exit ${done.code}): ${done.stderr.trim()}`,
      `${log ? `Its recent log:\n${log}\n  ` : ''}${hint}`,
    );
  };
  const start = async () => {
    // A unit that hit its start limit refuses `start` until reset.
    await run(ctl('reset-failed', UNIT_NAME), runEnv);
    await drive('start');
  };
  return {
    scope,
    logCommand: () => (user ? 'journalctl --user-unit parachute' : 'journalctl -u parachute'),
    async prepare(config: UnitConfig) {
      if (!existsSync('/run/systemd/system')) {
        throw new OperatorError(
          'systemd is not running on this host (no /run/systemd/system).',
          'Run `parachute serve` under the service manager this host has, or in a terminal.',
        );
      }
      if (user) {
        await enableLinger(runEnv);
        // WorkingDirectory must exist before the first start (systemd makes only a StateDirectory).
        ensureHome(config.home);
      } else await ensureSystemUser(config);
    },
    async apply({ changed, restart, noStart }): Promise<StartOutcome> {
      if (changed) await must(ctl('daemon-reload'), hint);
      await must(ctl('enable', '--quiet', UNIT_NAME), hint);
      if (noStart) return 'not started';
      const now = await state();
      if (isUp(now) && !changed && !restart) return 'already running';
      if (!isUp(now)) {
        await start();
        return 'started';
      }
      await drive('restart');
      return 'restarted';
    },
    start,
    state,
    async remove() {
      await run(ctl('disable', '--now', '--quiet', UNIT_NAME), runEnv);
    },
    async forget() {
      await run(ctl('daemon-reload'), runEnv);
      await run(ctl('reset-failed', UNIT_NAME), runEnv);
    },
    recentLog,
  };
}

/**
 * The dedicated account of the system unit: a system user with no login
 * shell whose home is the state folder. A home other than /var/lib/parachute
 * (which systemd's StateDirectory creates) is created and handed to it here.
 */
async function ensureSystemUser(config: UnitConfig): Promise<void> {
  const name = config.user as string;
  if ((await run(['id', '-u', name])).code !== 0) {
    await runOrFail(
      [
        'useradd',
        '--system',
        '--user-group',
        '--home-dir',
        config.home,
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ],
      `Create the account yourself (a system user "${name}" with no login shell), then run this again.`,
    );
  }
  if (config.home !== SYSTEM_HOME) {
    await runOrFail(['mkdir', '-p', config.home], `Create ${config.home} yourself.`);
    await runOrFail(
      ['chown', '-R', `${name}:${name}`, config.home],
      `Give ${config.home} to ${name}: chown -R ${name}:${name} ${config.home}`,
    );
  }
}

/**
 * Lingering keeps the user's manager (and so the hub) running without a
 * login session, and starts it at boot. Enabling it starts the manager;
 * wait until it answers before talking to it.
 */
async function enableLinger(env: Record<string, string | undefined>): Promise<void> {
  const name = (await run(['id', '-un'])).stdout.trim();
  // Already lingering (an admin may have enabled it: users need polkit for it themselves).
  if (!existsSync(`/var/lib/systemd/linger/${name}`)) {
    await runOrFail(
      ['loginctl', 'enable-linger', name],
      `Without lingering the hub stops when you log out and does not start at boot. Ask an admin to run \`loginctl enable-linger ${name}\`.`,
    );
  }
  const deadline = performance.now() + 15_000;
  const managerUp = async () => {
    const said = (await run(['systemctl', '--user', 'is-system-running'], env)).stdout.trim();
    return said !== '' && said !== 'offline';
  };
  while (!(await managerUp())) {
    if (performance.now() > deadline) {
      throw new OperatorError(
        'your systemd user manager did not start within 15 s of enabling lingering.',
        `Check \`systemctl status user@$(id -u)\`; XDG_RUNTIME_DIR is ${env.XDG_RUNTIME_DIR}.`,
      );
    }
    await Bun.sleep(200);
  }
}
