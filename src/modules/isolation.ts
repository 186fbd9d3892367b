import type { Database } from 'bun:sqlite';

/**
 * Modules the admin marked isolated (modules.md section 7): the proxy gives
 * their documents the sandbox CSP, so on a shared origin their pages cannot
 * act as the signed-in admin, at the price of the origin's storage, cookies
 * and service workers. The flag lives in hub.db, never in services.json,
 * which modules write themselves. Kept in memory too: the proxy asks on
 * every request.
 */
export class ModuleIsolation {
  private readonly names: Set<string>;

  constructor(private readonly db: Database) {
    const rows = db.query('SELECT name FROM isolated_modules').all() as { name: string }[];
    this.names = new Set(rows.map((r) => r.name));
  }

  /** True when the module with this services.json row name is isolated. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Marks a module (by row name) isolated or trusted; kept across uninstall and reinstall. */
  set(name: string, isolated: boolean): void {
    if (isolated) {
      this.db.run(
        'INSERT INTO isolated_modules (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at',
        [name, Date.now()],
      );
      this.names.add(name);
    } else {
      this.db.run('DELETE FROM isolated_modules WHERE name = ?', [name]);
      this.names.delete(name);
    }
  }
}
