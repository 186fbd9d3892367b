import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { log } from '../platform/log.ts';
import { packageOf } from './installer.ts';
import { describeIssue, ModuleManifest, type ServiceRow } from './schema.ts';

/**
 * Installed modules' module.json: the one shipped in the package, or the
 * one given at install (kept per row under `modules/manifests/rows/`, which
 * wins), read once per row and kept by row name. Given manifests are kept
 * per row, not per package: one package may run as two modules, each with
 * its own manifest (modules.md section 3).
 */
export class Manifests {
  private readonly byRow = new Map<string, ModuleManifest>();
  /** Why a row's module.json could not be used, so "cannot start" can say so. */
  private readonly problems = new Map<string, string>();

  constructor(private readonly modulesDir: string) {}

  /** The kept manifest of row `name`, if read. */
  get(name: string): ModuleManifest | undefined {
    return this.byRow.get(name);
  }

  /** Reads the row's manifest again and keeps it when usable. */
  refresh(row: ServiceRow): ModuleManifest | null {
    const manifest = this.load(row);
    if (manifest) this.byRow.set(row.name, manifest);
    return manifest;
  }

  /** The kept manifest, else the one on disk (not kept). */
  of(row: ServiceRow): ModuleManifest | null {
    return this.byRow.get(row.name) ?? this.load(row);
  }

  forget(name: string): void {
    this.byRow.delete(name);
  }

  /** Why the row's manifest is unusable, with what to do, or undefined. */
  problem(name: string): string | undefined {
    const problem = this.problems.get(name);
    return problem && `${problem}; reinstall or upgrade ${name}`;
  }

  /** The manifest given at install for `row`, as saved (unchecked), or undefined. */
  given(row: ServiceRow): unknown {
    const path = this.givenFile(row);
    return path ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  }

  saveGiven(rowName: string, manifest: ModuleManifest): void {
    mkdirSync(dirname(this.givenPath(rowName)), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.givenPath(rowName), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  forgetGiven(row: ServiceRow): void {
    rmSync(this.givenPath(row.name), { force: true });
    // A row installed by an older hub: the per-package file that names it.
    const legacy = this.givenFile(row);
    if (legacy) rmSync(legacy, { force: true });
  }

  private load(row: ServiceRow): ModuleManifest | null {
    if (!row.installDir) return null;
    for (const path of [this.givenFile(row), join(row.installDir, '.parachute', 'module.json')]) {
      if (!path || !existsSync(path)) continue;
      let problem: string;
      try {
        const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
        const parsed = ModuleManifest.safeParse(raw);
        if (parsed.success) {
          this.problems.delete(row.name);
          return parsed.data;
        }
        problem = `${path} is invalid (${describeIssue(parsed.error, raw)})`;
      } catch {
        problem = `${path} is not valid JSON`;
      }
      // Read again at every rebuild of the routing table: say it once.
      if (this.problems.get(row.name) !== problem)
        log.warn(`${problem}; ${row.name} will not be started`);
      this.problems.set(row.name, problem);
      return null;
    }
    return null;
  }

  /** The given manifest's file for `row`: its own, else one kept the old way for it, else undefined. */
  private givenFile(row: ServiceRow): string | undefined {
    const own = this.givenPath(row.name);
    if (existsSync(own)) return own;
    // Hubs before per-row manifests kept one file per package, which the
    // next install of that package under another manifest replaced. Such a
    // file still belongs to the one row its manifestName names, and no other.
    const packageName = packageOf(row);
    if (!packageName) return undefined;
    const legacy = join(this.modulesDir, 'manifests', `${packageName.replace('/', '__')}.json`);
    return manifestNameIn(legacy) === row.name ? legacy : undefined;
  }

  private givenPath(rowName: string): string {
    return join(this.modulesDir, 'manifests', 'rows', `${encodeURIComponent(rowName)}.json`);
  }
}

function manifestNameIn(path: string): unknown {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { manifestName?: unknown }).manifestName;
  } catch {
    return undefined;
  }
}
