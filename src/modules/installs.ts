import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasProcess } from '../supervisor/states.ts';
import { ShuttingDownError, type Supervisor } from '../supervisor/supervisor.ts';
import {
  bunAdd,
  bunRemove,
  dependencies,
  InstallError,
  type InstalledPackage,
  type InstallRoot,
  installedVersion,
  packageOf,
  readInstalled,
  sourceOf,
} from './installer.ts';
import type { Manifests } from './manifests.ts';
import type { Operation, Operations } from './operations.ts';
import { assignPort } from './ports.ts';
import { pathConflict, type Registry } from './registry.ts';
import type { ModuleManifest, ServiceRow } from './schema.ts';

type Progress = (line: string) => void;

/** A row checked against the package now on disk, with what it would become. */
interface Checked {
  row: ServiceRow;
  installed: InstalledPackage;
}

/** What install, upgrade and uninstall need of the module manager. */
export interface InstallsHost {
  home: string;
  registry: Registry;
  supervisor: Supervisor;
  installRoot: InstallRoot;
  manifests: Manifests;
  operations: Operations;
  /** services.json rows as they are now. */
  rows(): ServiceRow[];
  row(name: string): ServiceRow | undefined;
  /** The row name for a row name or a module's short name, or null. */
  resolve(name: string): string | null;
  /** Re-reads the row's manifest and gives the supervisor its spec. */
  register(row: ServiceRow): void;
  /** Rebuilds what is served from services.json. */
  reload(): void;
  /** True when the row's manifest has a start command. */
  startable(row: ServiceRow): boolean;
}

/**
 * Install, upgrade and uninstall (modules.md section 3): operations on the
 * one install root, which Operations runs one at a time hub-wide. One
 * package may run as several modules (each with its own row and manifest);
 * they share its one copy on disk, so no operation on one of them removes
 * or replaces what another runs from.
 */
export class Installs {
  constructor(private readonly host: InstallsHost) {}

  /**
   * Installs a package as an operation (modules.md section 3). A package
   * other modules already run from is shared with them, never replaced
   * under them: a failure puts back what they run.
   */
  install(packageSpec: string, givenManifest?: unknown): Operation {
    return this.host.operations.run('install', packageSpec, async (progress, op) => {
      const root = this.host.installRoot;
      const before = dependencies(root);
      const packageName = await bunAdd(root, packageSpec, progress);
      let added: ServiceRow | null = null;
      try {
        const installed = readInstalled(root, packageName, givenManifest);
        const manifest = installed.manifest;
        op.module = manifest.manifestName;
        const existing = this.host.rows();
        this.refuseTaken(manifest, existing);
        // Modules that already ran from this package at another version now
        // run what was just added: each must still work with it.
        const changed = this.checkRows(
          packageName,
          existing.filter(
            (r) => r.installDir === installed.installDir && r.version !== installed.version,
          ),
        );
        const { port, warning } = assignPort(manifest, existing);
        if (warning) progress(`warning: ${warning}`);
        const row: ServiceRow = {
          name: manifest.manifestName,
          port,
          installDir: installed.installDir,
          ...rowFromManifest(manifest, installed.version),
        };
        if (givenManifest !== undefined) this.host.manifests.saveGiven(row.name, manifest);
        this.host.registry.upsert(row);
        added = row;
        this.host.register(row);
        this.host.reload();
        progress(`installed ${packageName}@${installed.version} as ${row.name} on port ${port}`);
        await this.adopt(changed, null, progress);
        if (this.host.startable(row)) {
          progress(`starting ${row.name}`);
          await this.startOrDefer(row.name, 'start', progress);
        }
      } catch (error) {
        // Leave nothing half-installed: no row, and the package as it was.
        if (added) {
          await this.host.supervisor.unregister(added.name).catch(() => {});
          this.host.registry.remove(added.name);
          this.host.manifests.forgetGiven(added);
          this.host.reload();
        }
        await this.restorePackage(packageName, before[packageName], progress);
        throw error;
      }
    });
  }

  /**
   * Re-adds the module's package at `channel` (default latest; a module
   * installed from a folder, .tgz or URL is re-added from the same place),
   * keeps its port, updates its row and restarts it. Every module that runs
   * from the same package is upgraded with it, each with its own manifest
   * (they share one copy on disk). A new version some module cannot use
   * (invalid manifest, other name, taken path) is rolled back. `from` (a
   * .tgz or folder on this host, such as an upload) replaces where the
   * package is added from; it must hold the same package.
   */
  upgrade(name: string, channel?: string, from?: string): Operation {
    return this.host.operations.run('upgrade', name, async (progress, op) => {
      op.module = name;
      const row = this.host.row(name);
      const packageName = row && packageOf(row);
      if (!row || !packageName)
        throw new InstallError(
          `${name} was not installed by this hub, so it cannot be upgraded here`,
        );
      const root = this.host.installRoot;
      const recorded = dependencies(root)[packageName];
      const sharing = this.host.rows().filter((r) => r.installDir === row.installDir);
      const others = sharing.filter((r) => r.name !== name).map((r) => r.name);
      if (others.length > 0)
        progress(`${others.join(', ')} run from ${packageName} too, and are upgraded with it`);
      if (from) {
        await this.addSamePackage(packageName, from, progress);
      } else {
        await bunAdd(root, sourceOf(recorded) ?? `${packageName}@${channel ?? 'latest'}`, progress);
      }
      let checked: Checked[];
      try {
        checked = this.checkRows(packageName, sharing);
      } catch (error) {
        progress(`rolling back to ${packageName}@${row.version}`);
        await this.restorePackage(packageName, recorded, progress);
        throw error;
      }
      await this.adopt(checked, name, progress);
    });
  }

  /**
   * Adds `from` in place of `packageName`; a different package is removed
   * again (or put back as it was) and refused, changing nothing.
   */
  private async addSamePackage(packageName: string, from: string, progress: Progress) {
    const before = dependencies(this.host.installRoot);
    const added = await bunAdd(this.host.installRoot, from, progress);
    if (added === packageName) return;
    await this.restorePackage(added, before[added], progress);
    throw new InstallError(
      `that package is ${added}, not ${packageName}: upgrade with a newer .tgz or folder of ${packageName}`,
    );
  }

  /**
   * Stops the module and removes its row, and its package unless another
   * module runs from it; `purge` also deletes $PARACHUTE_HOME/<name>/.
   */
  uninstall(name: string, purge: boolean): Operation {
    return this.host.operations.run('uninstall', name, async (progress, op) => {
      op.module = name;
      const row = this.host.row(name);
      if (!row) return;
      const manifest = this.host.manifests.get(name);
      progress(`stopping ${name}`);
      await this.host.supervisor.unregister(name);
      this.host.registry.remove(name);
      this.host.reload();
      this.host.manifests.forget(name);
      this.host.manifests.forgetGiven(row);
      const packageName = packageOf(row);
      const sharing = this.host.rows().filter((r) => r.installDir === row.installDir);
      if (packageName && sharing.length > 0) {
        progress(`kept ${packageName}: ${sharing.map((r) => r.name).join(', ')} still run from it`);
      } else if (packageName) {
        await bunRemove(this.host.installRoot, packageName, progress);
      }
      if (purge && manifest) {
        rmSync(join(this.host.home, manifest.name), { recursive: true, force: true });
        progress(`deleted ${join(this.host.home, manifest.name)}`);
      }
      progress(`uninstalled ${name}`);
    });
  }

  /** Refuses a manifest whose row name, or short name, an installed module already has. */
  private refuseTaken(manifest: ModuleManifest, existing: ServiceRow[]): void {
    if (existing.some((r) => r.name === manifest.manifestName)) {
      throw new InstallError(`${manifest.manifestName} is already installed; upgrade it instead`);
    }
    // The short name keys the API and the data folder $PARACHUTE_HOME/<name>/.
    const holder = this.host.resolve(manifest.name);
    if (holder) {
      throw new InstallError(
        `a module named ${manifest.name} is already installed (${holder}); give this one another "name" in its manifest`,
      );
    }
    const conflict = pathConflict(manifest.paths, existing);
    if (conflict) throw new InstallError(`cannot mount ${manifest.manifestName}: ${conflict}`);
  }

  /**
   * Checks `rows`, which all run from `packageName`, against the package now
   * on disk, each with its own manifest (the one given for it, else the
   * shipped one); throws, changing nothing, when one of them cannot use it.
   */
  private checkRows(packageName: string, rows: ServiceRow[]): Checked[] {
    return rows.map((row) => {
      const installed = readInstalled(
        this.host.installRoot,
        packageName,
        this.host.manifests.given(row),
      );
      if (installed.manifest.manifestName !== row.name) {
        throw new InstallError(
          `the new version calls itself ${installed.manifest.manifestName}, not ${row.name}`,
        );
      }
      const conflict = pathConflict(installed.manifest.paths, this.host.rows(), row.name);
      if (conflict) throw new InstallError(`cannot mount the new ${row.name}: ${conflict}`);
      return { row, installed };
    });
  }

  /**
   * Writes checked rows at their new version and restarts them: `asked`
   * (the module an upgrade names) always, started if it was stopped; the
   * others only if they were running.
   */
  private async adopt(checked: Checked[], asked: string | null, progress: Progress) {
    for (const { row, installed } of checked) {
      this.host.registry.upsert({
        ...row,
        ...rowFromManifest(installed.manifest, installed.version),
      });
      this.host.manifests.forget(row.name);
      this.host.register(this.host.row(row.name) as ServiceRow);
      progress(`${row.name} is now ${installed.version} (was ${row.version})`);
    }
    this.host.reload();
    for (const { row } of checked) {
      const live = hasProcess(this.host.supervisor.stateOf(row.name));
      if (!this.startable(row.name) || (row.name !== asked && !live)) continue;
      progress(`restarting ${row.name}`);
      await this.startOrDefer(row.name, 'restart', progress);
    }
  }

  /**
   * After a failed install or upgrade: removes the package when no module
   * runs from it, else adds back the version they run if it changed.
   */
  private async restorePackage(
    packageName: string,
    recorded: string | undefined,
    progress: Progress,
  ) {
    const root = this.host.installRoot;
    const users = this.host.rows().filter((r) => packageOf(r) === packageName);
    const version = users[0]?.version;
    if (!version) {
      await bunRemove(root, packageName, progress).catch(() => {});
      return;
    }
    if (
      dependencies(root)[packageName] === recorded &&
      installedVersion(root, packageName) === version
    )
      return;
    progress(
      `putting back ${packageName}@${version}, which ${users.map((r) => r.name).join(', ')} run from`,
    );
    await bunAdd(root, sourceOf(recorded) ?? `${packageName}@${version}`, progress).catch(
      (error: Error) => progress(`could not put it back: ${error.message}`),
    );
  }

  /** Starts or restarts a module, unless the hub is shutting down: then it starts at the next boot. */
  private async startOrDefer(name: string, how: 'start' | 'restart', progress: Progress) {
    try {
      await this.host.supervisor[how](name);
    } catch (error) {
      if (!(error instanceof ShuttingDownError)) throw error;
      progress(`the hub is shutting down; ${name} starts when the hub runs again`);
    }
  }

  private startable(name: string): boolean {
    const row = this.host.row(name);
    return row !== undefined && this.host.startable(row);
  }
}

/** The services.json fields a module's manifest and version decide (port and installDir are the hub's). */
function rowFromManifest(m: ModuleManifest, version: string) {
  return {
    paths: m.paths,
    health: m.health,
    version,
    ...(m.displayName ? { displayName: m.displayName } : {}),
    ...(m.tagline ? { tagline: m.tagline } : {}),
    ...(m.stripPrefix !== undefined ? { stripPrefix: m.stripPrefix } : {}),
    ...(m.websocket !== undefined ? { websocket: m.websocket } : {}),
  };
}
