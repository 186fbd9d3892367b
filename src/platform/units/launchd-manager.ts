import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { launchdLogFile } from './launchd-plist.ts';
import type { StartOutcome, UnitManager } from './manager.ts';
import { run, runOrFail } from './run.ts';
import { LAUNCHD_LABEL, type UnitConfig } from './unit-config.ts';

/**
 * launchctl for the hub's LaunchAgent. Loading is bootout (errors ignored:
 * not loaded yet) → enable → bootstrap into the GUI session, retried once,
 * else into the user domain (an ssh session has no GUI domain).
 */
export function launchdManager(plist: string, uid = process.getuid?.() ?? 0): UnitManager {
  const domains = [`gui/${uid}`, `user/${uid}`];
  const loadedIn = async (): Promise<string | null> => {
    for (const domain of domains) {
      if ((await run(['launchctl', 'print', `${domain}/${LAUNCHD_LABEL}`])).code === 0)
        return domain;
    }
    return null;
  };
  const load = async () => {
    for (const domain of domains) await run(['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`]);
    const [gui, user] = domains as [string, string];
    await run(['launchctl', 'enable', `${gui}/${LAUNCHD_LABEL}`]);
    for (const attempt of [gui, gui]) {
      if ((await run(['launchctl', 'bootstrap', attempt, plist])).code === 0) return;
      await Bun.sleep(500);
    }
    await run(['launchctl', 'enable', `${user}/${LAUNCHD_LABEL}`]);
    await runOrFail(
      ['launchctl', 'bootstrap', user, plist],
      `Check the agent with \`launchctl print ${gui}/${LAUNCHD_LABEL}\`.`,
    );
  };
  return {
    scope: 'launchd',
    logCommand: (home) => `tail -n 100 ${launchdLogFile(home)}`,
    async prepare(config: UnitConfig) {
      // launchd opens StandardOutPath itself and does not create its folder.
      mkdirSync(launchdLogFile(config.home).replace(/\/[^/]+$/, ''), {
        recursive: true,
        mode: 0o700,
      });
    },
    async apply({ changed, restart, noStart }): Promise<StartOutcome> {
      if (noStart) return 'not started';
      const loaded = await loadedIn();
      if (loaded && !changed && !restart) return 'already running';
      await load();
      return loaded ? 'restarted' : 'started';
    },
    async start() {
      const domain = await loadedIn();
      if (!domain) return load();
      await runOrFail(
        ['launchctl', 'kickstart', `${domain}/${LAUNCHD_LABEL}`],
        'Check the agent with `parachute unit status`.',
      );
    },
    async state() {
      const domain = await loadedIn();
      if (!domain) return 'not loaded';
      const printed = await run(['launchctl', 'print', `${domain}/${LAUNCHD_LABEL}`]);
      return /^\s*state = (\S+)/m.exec(printed.stdout)?.[1] ?? 'loaded';
    },
    async remove() {
      for (const domain of domains)
        await run(['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`]);
    },
    async forget() {},
    async recentLog(home: string) {
      const file = launchdLogFile(home);
      if (!existsSync(file)) return '';
      return readFileSync(file, 'utf8').split('\n').slice(-40).join('\n').trim();
    },
  };
}
