import { Database } from 'bun:sqlite';

/**
 * Rows per table of a database file, opened read-only. Without `tables`,
 * every table; virtual tables are left out (their rows live in shadow
 * tables, which are counted). A listed table that does not exist is absent
 * from the answer.
 */
export function countRows(path: string, tables?: string[]): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const names =
      tables ??
      (
        db
          .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
          )
          .all() as { name: string }[]
      ).map((t) => t.name);
    const rows: Record<string, number> = {};
    for (const name of names) {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      try {
        rows[name] = (db.query(`SELECT count(*) AS n FROM ${quoted}`).get() as { n: number }).n;
      } catch {
        // No such table in this copy.
      }
    }
    return rows;
  } finally {
    db.close();
  }
}
