import type { Database } from 'bun:sqlite';

/**
 * Hub-wide settings the admin changes at runtime (the issuer origin, the apps
 * domain), and what the hub remembers across restarts (the backup state its
 * webhook was last told about).
 */
export type SettingKey =
  | 'origin'
  | 'apps_domain'
  | 'backup_alerted'
  // The issuer of the operator token a hub moved to Fly brought along (fly/staged-import.ts).
  | 'moved_from';

/** Reads one setting, or null when it was never set. */
export function getSetting(db: Database, key: SettingKey): string | null {
  const row = db.query('SELECT value FROM settings WHERE key = ?').get(key) as {
    value: string;
  } | null;
  return row?.value ?? null;
}

/** Sets (or with null, clears) one setting. */
export function setSetting(db: Database, key: SettingKey, value: string | null): void {
  if (value === null) db.run('DELETE FROM settings WHERE key = ?', [key]);
  else {
    db.run(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      [key, value, Date.now()],
    );
  }
}
