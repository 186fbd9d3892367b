import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import type { BootState } from './boot-state.ts';
import { errorMapping } from './errors.ts';
import { healthRoutes } from './health.ts';
import { securityHeaders } from './security-headers.ts';
import { spaRoutes } from './spa.ts';
import type { SpaFiles } from './spa-files.ts';

/** What the routes need from the running hub. */
export interface AppDeps {
  state: BootState;
  db: Database;
  spaFiles: SpaFiles;
}

/** Every URL the hub answers, top to bottom: cross-cutting plugins, then one line per route group. */
export function createApp(deps: AppDeps) {
  return (
    new Elysia({ name: 'hub', strictPath: true })
      .use(securityHeaders())
      .use(errorMapping())
      // GET /health, GET /api/ready
      .use(healthRoutes(deps.state, () => pingDb(deps.db)))
      // GET /admin, /admin/* (embedded SPA)
      .use(spaRoutes(deps.spaFiles))
  );
}

function pingDb(db: Database): boolean {
  try {
    db.query('SELECT 1').get();
    return true;
  } catch {
    return false;
  }
}
