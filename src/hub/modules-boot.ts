import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthContext } from '../auth/context.ts';
import { removeScratch } from '../backup/scratch.ts';
import { ModuleManager } from '../modules/manager.ts';
import { Registry } from '../modules/registry.ts';
import { ensureShims } from '../modules/shims.ts';
import { moduleOrigin } from '../platform/apps-domain.ts';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { ChildrenFile } from '../supervisor/children-file.ts';
import { StdoutMirror } from '../supervisor/stdout-mirror.ts';
import { Supervisor } from '../supervisor/supervisor.ts';

/**
 * Brings modules up at boot: first terminates children a previous hub left
 * behind (so no port is held by an orphan), then starts every module in
 * services.json.
 */
export async function startModules(
  home: string,
  auth: AuthContext,
  env: Record<string, string | undefined>,
) {
  const paths = hubPaths(home);
  const children = new ChildrenFile(join(paths.run, 'children.json'));
  const mirror = new StdoutMirror();
  const supervisor = new Supervisor(children, (name, line) => mirror.write(name, line));
  const reaped = await children.reapOrphans(supervisor.knobs.stopGraceMs);
  for (const r of reaped)
    log.warn(
      `stopped ${r.name} (pid ${r.pid}) left running by a hub that did not shut down cleanly`,
    );
  ensureShims(paths.bin, process.execPath, env.PATH ?? '');
  // The container image points TMPDIR here (deploy.md): it must exist before any module runs.
  const tmpDir = join(home, 'tmp');
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  // What an export or a backup killed mid-way left there (nothing uses it yet).
  removeScratch(home);
  const manager = new ModuleManager({
    home,
    registry: new Registry(paths.servicesJson),
    supervisor,
    installRoot: {
      modulesDir: paths.modules,
      tmpDir,
      cacheDir: join(home, 'cache', 'bun'),
      hubBinary: process.execPath,
      env,
    },
    shimsDir: paths.bin,
    hubEnv: env,
    origin: () => auth.origin,
    origins: () => auth.origins,
    moduleOrigin: (module) => {
      const apps = auth.appsDomain;
      // A self-registered row's name may be no host name: it has no origin of its own.
      return apps && /^[a-z][a-z0-9-]{0,62}$/.test(module)
        ? moduleOrigin(module, apps, auth.origin)
        : null;
    },
  });
  await manager.boot();
  // Each child's environment is built at spawn, so a restart carries the new
  // origin, and the new apps domain (PARACHUTE_HUB_ORIGINS lists the module's own).
  auth.originListeners.add(async () => {
    const live = manager
      .list()
      .filter((m) => m.state === 'running' || m.state === 'unbound' || m.state === 'starting');
    await Promise.all(live.map((m) => supervisor.restart(m.name)));
  });
  const counts = () => {
    const all = manager.list();
    return { running: all.filter((m) => m.state === 'running').length, total: all.length };
  };
  return { manager, supervisor, counts };
}
