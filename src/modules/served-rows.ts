import { pathConflict } from './registry.ts';
import type { ServiceRow } from './schema.ts';

/** Rows as the hub serves them, and a warning for each path it refused. */
export interface ServedRows {
  /** Every given row, in file order, with only the paths it may mount. */
  rows: ServiceRow[];
  /** One line per refused path, naming the row and the path. */
  refused: string[];
}

/**
 * Drops each path that is reserved by the hub or already mounted by an
 * earlier row (file order wins), so no row can shadow a hub route or take
 * over another module's mount (modules.md section 7). Install refuses these
 * too, but modules edit their own rows while they run.
 */
export function servedRows(rows: ServiceRow[]): ServedRows {
  const served: ServiceRow[] = [];
  const refused: string[] = [];
  for (const row of rows) {
    const paths: string[] = [];
    for (const path of row.paths) {
      // Earlier rows and this row's own kept paths: a path listed twice is mounted once.
      const conflict = pathConflict([path], [...served, { ...row, paths }]);
      if (conflict) refused.push(`services.json row "${row.name}": ${conflict}; not routed`);
      else paths.push(path);
    }
    served.push({ ...row, paths });
  }
  return { rows: served, refused };
}
