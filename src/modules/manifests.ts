import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { log } from '../platform/log.ts';
import { describeIssue, ModuleManifest, type ServiceRow } from './schema.ts';

/**
 * Installed modules' module.json: the one shipped in the package, or the
 * one given at install (kept under `modules/manifests/`, which wins), read
 * once per row and kept by row name.
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

  /** The manifest given at install for a package, as saved (unchecked), or undefined. */
  given(packageName: string): unknown {
    const path = this.givenPath(packageName);
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  }

  saveGiven(packageName: string, manifest: ModuleManifest): void {
    mkdirSync(join(this.modulesDir, 'manifests'), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.givenPath(packageName), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  forgetGiven(packageName: string): void {
    rmSync(this.givenPath(packageName), { force: true });
  }

  private load(row: ServiceRow): ModuleManifest | null {
    if (!row.installDir) return null;
    const packageName = row.installDir.split('/node_modules/').pop() ?? '';
    for (const path of [
      this.givenPath(packageName),
      join(row.installDir, '.parachute', 'module.json'),
    ]) {
      if (!existsSync(path)) continue;
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

  private givenPath(packageName: string): string {
    return join(this.modulesDir, 'manifests', `${packageName.replace('/', '__')}.json`);
  }
}
