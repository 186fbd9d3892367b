// provisioner.db: the provisioner's own SQLite state (never a hub's hub.db).
// Same pragmas and migration runner as the hub's store, so a crash mid-write
// leaves the previous state and a SIGKILL loses nothing committed.
import { Database } from 'bun:sqlite';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../store/migrate.ts';
import type { Migration } from '../store/migrations.ts';

/** Append only; a released migration is never edited. */
const migrations: Migration[] = [
  {
    version: 1,
    name: 'provisioning jobs',
    sql: `
      -- One row per provisioning job; a checkout session makes at most one.
      CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY,
        checkout_session TEXT NOT NULL UNIQUE,
        customer_email   TEXT NOT NULL,
        -- Stripe's ids, for the teardown a cancelled subscription will start.
        stripe_customer     TEXT,
        stripe_subscription TEXT,
        wanted_slug      TEXT NOT NULL,
        slug             TEXT UNIQUE,
        state            TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'torn_down')),
        -- What the steps made (app, volume id, machine id, DNS record id…), as JSON.
        data             TEXT NOT NULL DEFAULT '{}',
        -- The preset setup token: kept only until the setup link is mailed.
        setup_token      TEXT,
        -- PARACHUTE_EXPORT_TOKEN of the hub: how a teardown exports it first.
        export_token     TEXT NOT NULL,
        error            TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      ) STRICT;
      -- Every Stripe event id ever accepted: a re-delivery finds its row and does nothing.
      CREATE TABLE stripe_events (
        event_id    TEXT PRIMARY KEY,
        type        TEXT NOT NULL,
        job_id      INTEGER REFERENCES jobs(id),
        received_at INTEGER NOT NULL
      ) STRICT;
      -- Each step of each job, written before and after it runs.
      CREATE TABLE job_steps (
        job_id          INTEGER NOT NULL REFERENCES jobs(id),
        position        INTEGER NOT NULL,
        step            TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        next_attempt_at INTEGER,
        started_at      INTEGER,
        finished_at     INTEGER,
        PRIMARY KEY (job_id, step)
      ) STRICT;
      -- Exports made before a teardown, downloadable by the link mailed to the operator.
      CREATE TABLE exports (
        token_hash TEXT PRIMARY KEY,
        job_id     INTEGER NOT NULL REFERENCES jobs(id),
        file       TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

export function openProvisionerDb(home: string): Database {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, 'provisioner.db');
  const isNew = !existsSync(path);
  const db = new Database(path, { create: true, strict: true });
  // It holds setup tokens until they are mailed: owner only.
  if (isNew) chmodSync(path, 0o600);
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  // FULL: a job step recorded as done must still be done after a power cut.
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
  migrate(db, path, migrations);
  return db;
}
