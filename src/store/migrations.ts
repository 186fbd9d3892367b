/** One schema change. Versions are dense and never reused; a migration is never edited once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema change hub.db has seen, oldest first. Append only. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'settings',
    // Hub-wide settings the admin changes at runtime (the saved origin, for one).
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
