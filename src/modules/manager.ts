import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ScopeSource } from '../auth/oauth/scopes.ts';
import { log } from '../platform/log.ts';
import type { ModuleSpec, ModuleStatus, Supervisor } from '../supervisor/supervisor.ts';
import { childEnv } from './child-env.ts';
import { FilePoll } from './file-poll.ts';
import { bunAdd, bunRemove, InstallError, type InstallRoot, readInstalled } from './installer.ts';
import { Manifests } from './manifests.ts';
import { type Mount, sortMounts } from './mounts.ts';
import { Operations } from './operations.ts';
import { assignPort } from './ports.ts';
import { pathConflict, type Registry, type RegistrySnapshot } from './registry.ts';
import type { ModuleManifest, ServiceRow } from './schema.ts';
import { servedRows } from './served-rows.ts';

/**
 * How often services.json is checked for rows modules changed themselves:
 * a new mount must be routable within a second (modules.md section 7).
 */
const SERVICES_POLL_MS = 250;

/** What the hub serves, built in one go so routing, discovery and scopes always agree. */
interface Served {
  /** Rows the supervisor knows, in file order, each with only the paths it may mount. */
  rows: ServiceRow[];
  /** The proxy's routing table for those rows, longest prefix first. */
  mounts: Mount[];
}

/** What the manager needs from the hub. */
export interface ManagerDeps {
  home: string;
  registry: Registry;
  supervisor: Supervisor;
  installRoot: InstallRoot;
  shimsDir: string;
  hubEnv: Record<string, string | undefined>;
  origin: () => string;
  origins: () => string[];
}

/** A module as GET /api/modules shows it: its row, its process, its labels. */
export interface ModuleView extends ModuleStatus {
  /** Short URL-safe name from module.json (`vault`), when known. */
  module: string | null;
  version: string;
  displayName: string | null;
  paths: string[];
  row: ServiceRow;
}

/**
 * Installed modules: services.json rows joined with module.json manifests
 * and the supervisor's live state. Every module in services.json is
 * addressable by its row name or its short name (modules.md section 6).
 */
export class ModuleManager {
  readonly operations = new Operations();
  private readonly manifests: Manifests;
  /** In memory so no request reads the disk; replaced whole by reload(). */
  private served: Served = { rows: [], mounts: [] };
  /** Row problems already logged, so a rebuild every 250 ms does not repeat them. */
  private warned = new Set<string>();
  /** Why services.json could not be read, while it cannot (logged once). */
  private readProblem: string | null = null;
  private readonly poll: FilePoll;

  constructor(private readonly deps: ManagerDeps) {
    this.manifests = new Manifests(deps.installRoot.modulesDir);
    // Modules edit their own rows while they run (vault adds a mount on `vault create`).
    this.poll = new FilePoll(deps.registry.path, SERVICES_POLL_MS, () => this.reload());
  }

  get supervisor(): Supervisor {
    return this.deps.supervisor;
  }

  /**
   * Registers every valid row, starts those with a start command, and
   * follows services.json from then on (stop() ends that).
   */
  async boot(): Promise<void> {
    let rows: ServiceRow[] = [];
    try {
      rows = this.deps.registry.read().rows;
    } catch (error) {
      this.readProblem = (error as Error).message;
      log.error(`${this.readProblem} No modules were started.`);
    }
    for (const row of rows) this.register(row);
    this.reload();
    this.poll.start();
    await Promise.all(
      rows.filter((r) => this.spec(r).argv).map((r) => this.deps.supervisor.start(r.name)),
    );
  }

  /** Stops following services.json (hub shutdown). Safe to call more than once. */
  stop(): void {
    this.poll.stop();
  }

  /**
   * Re-reads services.json and rebuilds what is served. Only rows the
   * supervisor knows are served: a row that appears while the hub runs is
   * taken up at the next boot, as before. A broken file keeps the last good
   * table, so a module's half-finished edit never takes every route down.
   */
  private reload(): void {
    let snapshot: RegistrySnapshot;
    try {
      snapshot = this.deps.registry.read();
    } catch (error) {
      this.noteReadProblem((error as Error).message);
      return;
    }
    this.noteReadProblem(null);
    const known = snapshot.rows.filter((r) => this.deps.supervisor.has(r.name));
    const { rows, refused } = servedRows(known);
    this.served = { rows, mounts: this.mountsOf(rows) };
    this.warnOnce([
      ...snapshot.skipped.map(
        (s) => `services.json row ${s.index} (${s.name ?? 'unnamed'}) skipped: ${s.reason}`,
      ),
      ...refused,
    ]);
  }

  list(): ModuleView[] {
    // has(): between an uninstall's unregister and its reload().
    return this.served.rows
      .filter((r) => this.deps.supervisor.has(r.name))
      .map((r) => this.view(r));
  }

  /** Every mount path of every module, longest first. */
  get mounts(): Mount[] {
    return this.served.mounts;
  }

  /** The row name for `name` (a row name or a module's short name), or null. */
  resolve(name: string): string | null {
    for (const row of this.rows()) {
      if (row.name === name || this.manifests.get(row.name)?.name === name) return row.name;
    }
    return null;
  }

  view(row: ServiceRow): ModuleView {
    const manifest = this.manifests.get(row.name);
    return {
      ...this.deps.supervisor.status(row.name),
      module: manifest?.name ?? null,
      version: row.version,
      displayName: row.displayName ?? manifest?.displayName ?? null,
      paths: row.paths,
      row,
    };
  }

  /** What the OAuth issuer needs of each module: short name, label, mounts and scopes. */
  scopeSources(): ScopeSource[] {
    return this.list().map((view) => ({
      module: view.module ?? view.name,
      displayName: view.displayName ?? view.module ?? view.name,
      paths: view.paths,
      defines: this.manifests.get(view.name)?.scopes?.defines ?? [],
    }));
  }

  row(name: string): ServiceRow | undefined {
    return this.rows().find((r) => r.name === name);
  }

  /** Null when the module can be started, else why not (422 no_start_cmd). */
  whyNotStartable(name: string): string | null {
    const row = this.row(name);
    if (!row) return `${name} is not installed`;
    if (this.spec(row).argv) return null;
    return this.manifests.problem(name) ?? `${name} has no startCmd; the hub does not run it`;
  }

  /** Installs a package as an operation; see modules.md section 3. */
  install(packageSpec: string, givenManifest?: unknown) {
    return this.operations.run('install', packageSpec, async (progress, op) => {
      const root = this.deps.installRoot;
      const packageName = await bunAdd(root, packageSpec, progress);
      let wroteRow: string | null = null;
      try {
        const installed = readInstalled(root, packageName, givenManifest);
        const manifest = installed.manifest;
        op.module = manifest.manifestName;
        const existing = this.rows();
        if (existing.some((r) => r.name === manifest.manifestName)) {
          throw new InstallError(
            `${manifest.manifestName} is already installed; upgrade it instead`,
          );
        }
        const conflict = pathConflict(manifest.paths, existing);
        if (conflict) throw new InstallError(`cannot mount ${manifest.manifestName}: ${conflict}`);
        const { port, warning } = assignPort(manifest, existing);
        if (warning) progress(`warning: ${warning}`);
        if (givenManifest !== undefined) this.manifests.saveGiven(packageName, manifest);
        const row: ServiceRow = {
          name: manifest.manifestName,
          port,
          installDir: installed.installDir,
          ...rowFromManifest(manifest, installed.version),
        };
        this.deps.registry.upsert(row);
        wroteRow = row.name;
        this.register(row);
        this.reload();
        progress(`installed ${packageName}@${installed.version} as ${row.name} on port ${port}`);
        if (this.spec(row).argv) {
          progress(`starting ${row.name}`);
          await this.deps.supervisor.start(row.name);
        }
      } catch (error) {
        // Leave nothing half-installed: no row, no package.
        if (wroteRow) {
          await this.deps.supervisor.unregister(wroteRow).catch(() => {});
          this.deps.registry.remove(wroteRow);
        }
        await bunRemove(root, packageName, progress).catch(() => {});
        this.manifests.forgetGiven(packageName);
        throw error;
      }
    });
  }

  /**
   * Re-adds the module's package at `channel` (default latest; a module
   * installed from a folder or .tgz is re-added from the same place), keeps
   * its port, updates its row and restarts it. A new version whose manifest
   * is invalid is rolled back to the previous one.
   */
  upgrade(name: string, channel?: string) {
    return this.operations.run('upgrade', name, async (progress, op) => {
      op.module = name;
      const row = this.row(name);
      const packageName = row?.installDir?.split('/node_modules/').pop();
      if (!row || !packageName)
        throw new InstallError(
          `${name} was not installed by this hub, so it cannot be upgraded here`,
        );
      const root = this.deps.installRoot;
      const source = installedFrom(root.modulesDir, packageName);
      const local = source !== null && /^(file:|\/|\.)/.test(source);
      const spec = local ? source.replace(/^file:/, '') : `${packageName}@${channel ?? 'latest'}`;
      const given = this.manifests.given(packageName);
      await bunAdd(root, spec, progress);
      let installed: ReturnType<typeof readInstalled>;
      try {
        installed = readInstalled(root, packageName, given);
        if (installed.manifest.manifestName !== name) {
          throw new InstallError(
            `the new version calls itself ${installed.manifest.manifestName}, not ${name}`,
          );
        }
        const conflict = pathConflict(installed.manifest.paths, this.rows(), name);
        if (conflict) throw new InstallError(`cannot mount the new version: ${conflict}`);
      } catch (error) {
        progress(`rolling back to ${packageName}@${row.version}`);
        await bunAdd(root, local ? spec : `${packageName}@${row.version}`, progress).catch(
          () => {},
        );
        throw error;
      }
      const m = installed.manifest;
      this.deps.registry.upsert({ ...row, ...rowFromManifest(m, installed.version) });
      this.manifests.forget(name);
      this.register(this.row(name) as ServiceRow);
      this.reload();
      progress(`${name} is now ${installed.version} (was ${row.version}); restarting`);
      if (this.spec(this.row(name) as ServiceRow).argv) await this.deps.supervisor.restart(name);
    });
  }

  /** Stops the module, removes its row and package; `purge` also deletes $PARACHUTE_HOME/<name>/. */
  async uninstall(name: string, purge: boolean): Promise<void> {
    const row = this.row(name);
    if (!row) return;
    const manifest = this.manifests.get(name);
    await this.deps.supervisor.unregister(name);
    this.deps.registry.remove(name);
    this.reload();
    this.manifests.forget(name);
    const packageName = row.installDir ? row.installDir.split('/node_modules/').pop() : undefined;
    if (packageName) {
      await bunRemove(this.deps.installRoot, packageName, () => {});
      this.manifests.forgetGiven(packageName);
    }
    if (purge && manifest)
      rmSync(join(this.deps.home, manifest.name), { recursive: true, force: true });
  }

  private mountsOf(rows: ServiceRow[]): Mount[] {
    return sortMounts(
      rows.flatMap((row) =>
        row.paths.map((path) => ({
          prefix: path.replace(/\/+$/, '') || '/',
          name: row.name,
          module: this.manifests.of(row)?.name ?? row.name,
          port: row.port,
          stripPrefix: row.stripPrefix === true,
          websocket: row.websocket === true,
          managed: this.spec(row).argv !== null,
        })),
      ),
    );
  }

  /** Logs each problem not logged at the last rebuild; one that goes away and comes back is logged again. */
  private warnOnce(problems: string[]): void {
    for (const p of problems) if (!this.warned.has(p)) log.warn(p);
    this.warned = new Set(problems);
  }

  /** Logs when services.json becomes unreadable (once, not every poll) and when it is readable again. */
  private noteReadProblem(problem: string | null): void {
    if (problem === this.readProblem) return;
    if (problem) log.warn(`${problem} Modules keep the routes they had until it is fixed.`);
    else log.info(`${this.deps.registry.path} is readable again; routes follow it`);
    this.readProblem = problem;
  }

  private rows(): ServiceRow[] {
    try {
      return this.deps.registry.read().rows;
    } catch {
      return [];
    }
  }

  private register(row: ServiceRow): void {
    this.manifests.refresh(row);
    this.deps.supervisor.register(this.spec(row));
  }

  private spec(row: ServiceRow): ModuleSpec {
    const manifest = this.manifests.of(row);
    const shortName = manifest?.name ?? row.name;
    const argv =
      manifest?.startCmd && row.installDir
        ? // biome-ignore lint/suspicious/noTemplateCurlyInString: `${PORT}` is the literal placeholder of modules.md section 3
          manifest.startCmd.map((a) => a.replaceAll('${PORT}', String(row.port)))
        : null;
    return {
      name: row.name,
      port: row.port,
      argv,
      cwd: row.installDir ?? this.deps.home,
      // Built at every spawn: a restart picks up an edited .env and a new origin.
      env: () =>
        childEnv({
          hubEnv: this.deps.hubEnv,
          home: this.deps.home,
          shimsDir: this.deps.shimsDir,
          moduleName: shortName,
          port: row.port,
          origin: this.deps.origin(),
          origins: this.deps.origins(),
        }),
      binDirs: row.installDir
        ? [
            join(row.installDir, 'node_modules', '.bin'),
            join(this.deps.installRoot.modulesDir, 'node_modules', '.bin'),
          ]
        : [],
      ...(manifest?.readyTimeoutMs ? { readyTimeoutMs: manifest.readyTimeoutMs } : {}),
    };
  }
}

/** The dependency spec the install root recorded for a package (a version range or a file: path). */
function installedFrom(modulesDir: string, packageName: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(modulesDir, 'package.json'), 'utf8'));
    return (pkg.dependencies?.[packageName] as string | undefined) ?? null;
  } catch {
    return null;
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
