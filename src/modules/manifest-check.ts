// A manifest given at install (the admin UI's manifest form, `--manifest`),
// checked before any operation starts, so a wrong field is answered at once
// and by name instead of after `bun add` has fetched the package.

import { describeIssue, issueFields } from './issues.ts';
import { pathConflict } from './registry.ts';
import { ModuleManifest, type ServiceRow } from './schema.ts';

export interface ManifestProblems {
  /** Every problem as one sentence (`port: must be at most 65535; paths: ...`). */
  description: string;
  /** The first problem per top-level field. */
  fields: Record<string, string>;
}

/**
 * What is wrong with `raw` as the manifest of a new module next to `rows`
 * (invalid fields, a row or short name already installed, a reserved or
 * taken path), or null when it can be installed. `resolve` finds the row a
 * short name belongs to. The install checks all of this again (installs.ts).
 */
export function givenManifestProblems(
  raw: unknown,
  rows: ServiceRow[],
  resolve: (name: string) => string | null,
): ManifestProblems | null {
  const parsed = ModuleManifest.safeParse(raw);
  if (!parsed.success) {
    return {
      description: describeIssue(parsed.error, raw),
      fields: issueFields(parsed.error, raw),
    };
  }
  const manifest = parsed.data;
  const fields: Record<string, string> = {};
  if (rows.some((r) => r.name === manifest.manifestName))
    fields.manifestName = `${manifest.manifestName} is already installed; upgrade it instead, or pick another`;
  const holder = resolve(manifest.name);
  if (holder) fields.name = `a module named ${manifest.name} is already installed (${holder})`;
  const conflict = pathConflict(manifest.paths, rows);
  if (conflict) fields.paths = conflict;
  const entries = Object.entries(fields);
  if (entries.length === 0) return null;
  return { description: entries.map(([k, v]) => `${k}: ${v}`).join('; '), fields };
}
