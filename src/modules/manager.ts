import { join } from 'node:path';
import type { ScopeSource } from '../auth/oauth/scopes.ts';
import { log } from '../platform/log.ts';
import { resolveProgram } from '../supervisor/preflight.ts';
import { type ModuleResources, ResourceSampler } from '../supervisor/resources.ts';
import type { ModuleSpec, ModuleStatus, Supervisor } from '../supervisor/supervisor.ts';
import { childEnv } from './child-env.ts';
import { FilePoll } from './file-poll.ts';
import type { InstallRoot } from './installer.ts';
import { Installs } from './installs.ts';
import { Manifests } from './manifests.ts';
import { type Mount, sortMounts } from './mounts.ts';
import { type Operation, Operations } from './operations.ts';
import type { Registry, RegistrySnapshot } from './registry.ts';
import type { ModuleManifest, ServiceRow } from './schema.ts';
import { servedRows } from './served-rows.ts';
import { UI_LINK_FIELDS, type UiDeclaration } from './ui-links.ts';
import { gatesUnder, type HostedUi, readUis } from './uis.ts';

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
  /** The module's own origin under the apps domain, while one is in force (else null). */
  moduleOrigin?: (module: string) => string | null;
}

/** A module as GET /api/modules shows it: its row, its process, its labels. */
export interface ModuleView extends ModuleStatus {
  /** Short URL-safe name from module.json (`vault`), when known. */
  module: string | null;
  version: string;
  displayName: string | null;
  tagline: string | null;
  paths: string[];
  /** $PARACHUTE_HOME/<module>: its data, what an uninstall with purge deletes. */
  dataDir: string | null;
  /** CPU and memory of its process group, with the last hour (null when not running, or off Linux). */
  resources: ModuleResources | null;
  /** module.json's UI links as declared; ui-links.ts resolves them. */
  ui: UiDeclaration;
  /** Its hosted UIs as the hub reads them (uis.ts): status and audience normalised. */
  uis: HostedUi[];
  row: ServiceRow;
}

/**
 * Installed modules: services.json rows joined with module.json manifests
 * and the supervisor's live state. Every module in services.json is
 * addressable by its row name or its short name (modules.md section 6).
 */
export class ModuleManager {
  readonly operations = new Operations();
  /**
   * Called with a module's short name once it is uninstalled, before the
   * uninstall is answered: what the hub granted it ends (hub/app.ts).
   */
  readonly uninstallListeners = new Set<(module: string) => void>();
  private readonly manifests: Manifests;
  /** Told after every rebuild of what is served (installs, uninstalls, row edits). */
  private readonly reloadListeners = new Set<() => void>();
  /** CPU and memory of each running module, every 10 s (supervisor/resources.ts). */
  private readonly sampler: ResourceSampler;
  /** In memory so no request reads the disk; replaced whole by reload(). */
  private served: Served = { rows: [], mounts: [] };
  /** Row problems already logged, so a rebuild every 250 ms does not repeat them. */
  private warned = new Set<string>();
  /** Why services.json could not be read, while it cannot (logged once). */
  private readProblem: string | null = null;
  private readonly poll: FilePoll;
  private readonly installs: Installs;
  /** Aborted by stop(): kills the `bun` of a running operation (installer.ts). */
  private readonly ending = new AbortController();

  constructor(private readonly deps: ManagerDeps) {
    this.manifests = new Manifests(deps.installRoot.modulesDir);
    this.installs = new Installs({
      ...deps,
      installRoot: { ...deps.installRoot, signal: this.ending.signal },
      manifests: this.manifests,
      operations: this.operations,
      rows: () => this.rows(),
      row: (name) => this.row(name),
      resolve: (name) => this.resolve(name),
      register: (row) => this.register(row),
      reload: () => this.reload(),
      startable: (row) => this.spec(row).argv !== null,
    });
    this.sampler = new ResourceSampler(
      () =>
        deps.supervisor.names().flatMap((name) => {
          const pid = deps.supervisor.status(name).pid;
          return pid === null ? [] : [{ name, pgid: pid }];
        }),
      () => {
        for (const listener of this.reloadListeners) listener();
      },
    );
    // Modules edit their own rows while they run (vault adds a mount on `vault create`).
    this.poll = new FilePoll(deps.registry.path, SERVICES_POLL_MS, () => this.reload());
  }

  /** Where modules are installed: one package.json listing every package. */
  get installRoot(): InstallRoot {
    return this.deps.installRoot;
  }

  /** $PARACHUTE_HOME. */
  get home(): string {
    return this.deps.home;
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
    this.sampler.start();
    await Promise.all(
      rows.filter((r) => this.spec(r).argv).map((r) => this.deps.supervisor.start(r.name)),
    );
  }

  /**
   * Stops following services.json and ends the running operation, if any
   * (hub shutdown): its `bun` is killed and it undoes what it did. Resolves
   * once it has ended; safe to call more than once.
   */
  async stop(): Promise<void> {
    this.poll.stop();
    this.sampler.stop();
    this.ending.abort();
    const running = this.operations.running;
    if (running) await this.operations.settled(running);
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
      const restored = this.deps.registry.restoreLost();
      if (restored.length > 0) {
        log.warn(
          `services.json lost the row of ${restored.join(', ')} to a module that rewrote the file at the same moment; the hub put it back`,
        );
      }
      snapshot = this.deps.registry.read();
    } catch (error) {
      this.noteReadProblem((error as Error).message);
      return;
    }
    this.noteReadProblem(null);
    const known = snapshot.rows.filter((r) => this.deps.supervisor.has(r.name));
    const { rows, refused } = servedRows(known);
    // The gate table is built here, with the routes, so a request pays nothing for it.
    const problems: string[] = [];
    const uis = new Map<string, HostedUi[]>();
    for (const row of rows) {
      const read = readUis(row.name, row.uis, row.paths);
      uis.set(row.name, read.uis);
      problems.push(...read.problems);
    }
    this.served = { rows, mounts: this.mountsOf(rows, uis) };
    for (const listener of this.reloadListeners) listener();
    this.warnOnce([
      ...snapshot.skipped.map(
        (s) => `services.json row ${s.index} (${s.name ?? 'unnamed'}) skipped: ${s.reason}`,
      ),
      ...refused,
      ...problems,
    ]);
  }

  /**
   * Calls `listener` whenever list() may have changed: a module's state, or
   * the rows served. Returns the unsubscribe.
   */
  onChange(listener: () => void): () => void {
    this.reloadListeners.add(listener);
    const off = this.deps.supervisor.onChange(() => listener());
    return () => {
      this.reloadListeners.delete(listener);
      off();
    };
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
      tagline: row.tagline ?? manifest?.tagline ?? null,
      paths: row.paths,
      dataDir: manifest ? join(this.deps.home, manifest.name) : null,
      resources:
        this.deps.supervisor.stateOf(row.name) === 'stopped' ? null : this.sampler.of(row.name),
      ui: Object.fromEntries(
        UI_LINK_FIELDS.flatMap((f) => (manifest?.[f] === undefined ? [] : [[f, manifest[f]]])),
      ),
      uis: readUis(row.name, row.uis, row.paths).uis,
      row,
    };
  }

  /** What the OAuth issuer needs of each module: short name, label, version, mounts and scopes. */
  scopeSources(): ScopeSource[] {
    return this.list().map((view) => ({
      module: view.module ?? view.name,
      displayName: view.displayName ?? view.module ?? view.name,
      version: view.version,
      paths: view.paths,
      defines: this.manifests.get(view.name)?.scopes?.defines ?? [],
    }));
  }

  /** $PARACHUTE_HOME/<short name>/.env: settings the module gets at its next start (child-env.ts). */
  envPath(name: string): string {
    return join(this.deps.home, this.manifests.get(name)?.name ?? name, '.env');
  }

  /** The module.json of row `name`, when it could be read. */
  manifestOf(name: string): ModuleManifest | null {
    return this.manifests.get(name) ?? null;
  }

  /**
   * How to run the module's own program (vault's CLI, modules/vault-cli.ts):
   * its startCmd[0] found as the supervisor finds it, in the folder and
   * environment the module runs with. Null without a start command or
   * when the program is missing.
   */
  commandOf(name: string): { program: string; cwd: string; env: Record<string, string> } | null {
    const row = this.row(name);
    if (!row) return null;
    const spec = this.spec(row);
    const first = spec.argv?.[0];
    const program = first ? resolveProgram(first, spec) : null;
    if (!program) return null;
    const env = typeof spec.env === 'function' ? spec.env() : spec.env;
    return { program, cwd: spec.cwd, env };
  }

  /** Every row services.json has now (for checks made before an operation starts). */
  installedRows(): ServiceRow[] {
    return this.rows();
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

  /** True once the hub began shutting down: the API refuses changes then (503 shutting_down). */
  get shuttingDown(): boolean {
    return this.deps.supervisor.shuttingDown;
  }

  /** Installs a package as an operation (installs.ts, modules.md section 3). */
  install(packageSpec: string, givenManifest?: unknown): Operation {
    return this.installs.install(packageSpec, givenManifest);
  }

  /** Upgrades the module, and every module run from its package, as an operation. */
  upgrade(name: string, channel?: string, from?: string): Operation {
    return this.installs.upgrade(name, channel, from);
  }

  /** Uninstalls the module as an operation; its package stays while another module runs from it. */
  uninstall(name: string, purge: boolean): Operation {
    const short = this.manifests.get(name)?.name ?? name;
    const op = this.installs.uninstall(name, purge);
    void this.operations.settled(op).then((done) => {
      if (done.state !== 'succeeded') return;
      for (const listener of this.uninstallListeners) listener(short);
    });
    return op;
  }

  private mountsOf(rows: ServiceRow[], uis: Map<string, HostedUi[]>): Mount[] {
    return sortMounts(
      rows.flatMap((row) =>
        row.paths.map((path) => this.mountOf(row, path, uis.get(row.name) ?? [])),
      ),
    );
  }

  private mountOf(row: ServiceRow, path: string, uis: HostedUi[]): Mount {
    const prefix = path.replace(/\/+$/, '') || '/';
    return {
      prefix,
      name: row.name,
      module: this.manifests.of(row)?.name ?? row.name,
      port: row.port,
      stripPrefix: row.stripPrefix === true,
      websocket: row.websocket === true,
      managed: this.spec(row).argv !== null,
      uis: gatesUnder(prefix, uis),
    };
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
          // Every origin the module is reached at: the hub's, and its own under an apps domain.
          origins: withOwn(this.deps.origins(), this.deps.moduleOrigin?.(shortName) ?? null),
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

function withOwn(origins: string[], own: string | null): string[] {
  return own === null || origins.includes(own) ? origins : [...origins, own];
}
