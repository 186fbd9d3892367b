import type { Database } from 'bun:sqlite';
import * as z from 'zod/mini';
import { randomToken } from '../sessions.ts';
import { redirectUriProblem } from './redirects.ts';
import { families } from './tokens.ts';

export type ClientStatus = 'pending' | 'approved' | 'denied';

export interface Client {
  client_id: string;
  client_name: string | null;
  redirect_uris: string[];
  metadata: Record<string, unknown>;
  status: ClientStatus;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

interface ClientRow extends Omit<Client, 'redirect_uris' | 'metadata'> {
  redirect_uris: string;
  metadata: string;
}

/** Anyone can add a client (registration, metadata documents), so unapproved ones are bounded and expire. */
const MAX_PENDING_CLIENTS = 500;
const PENDING_CLIENT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

const GRANT_TYPES = ['authorization_code', 'refresh_token'];
/**
 * Registration is open and unknown fields are stored and echoed, so the
 * whole registration is bounded: the largest one the field limits allow (20
 * redirect URIs of 2 KB, name, URLs, scope) fits easily.
 */
const MAX_METADATA_BYTES = 64 * 1024;
const optionalUrl = z.optional(z.string().check(z.maxLength(2048)));

/** RFC 7591 client metadata; unknown fields are kept and echoed back. */
const Registration = z.looseObject({
  redirect_uris: z
    .array(z.string().check(z.maxLength(2048)))
    .check(z.minLength(1), z.maxLength(20)),
  client_name: z.optional(z.string().check(z.maxLength(200))),
  client_uri: optionalUrl,
  logo_uri: optionalUrl,
  scope: z.optional(z.string().check(z.maxLength(4096))),
  grant_types: z.optional(z.array(z.string())),
  response_types: z.optional(z.array(z.string())),
  token_endpoint_auth_method: z.optional(z.string()),
});

export type RegistrationResult =
  | { ok: true; metadata: Record<string, unknown> & { redirect_uris: string[] } }
  | { ok: false; error: 'invalid_redirect_uri' | 'invalid_client_metadata'; description: string };

/**
 * Validates a registration (RFC 7591 section 2). Only public clients exist
 * here: whatever authentication method is asked for, the answer says
 * `none`, and no secret is issued (RFC 7591 lets the server replace values).
 */
export function parseRegistration(body: unknown): RegistrationResult {
  const parsed = Registration.safeParse(body);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'body');
    if (field === 'redirect_uris') {
      return {
        ok: false,
        error: 'invalid_redirect_uri',
        description: 'redirect_uris must be a list of 1 to 20 URLs',
      };
    }
    return {
      ok: false,
      error: 'invalid_client_metadata',
      description: `${field} has the wrong type or is too long`,
    };
  }
  const data = parsed.data;
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_METADATA_BYTES) {
    return {
      ok: false,
      error: 'invalid_client_metadata',
      description: `The registration is larger than ${MAX_METADATA_BYTES} bytes.`,
    };
  }
  for (const uri of data.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) return { ok: false, error: 'invalid_redirect_uri', description: problem };
  }
  for (const [field, value] of [
    ['client_uri', data.client_uri],
    ['logo_uri', data.logo_uri],
  ] as const) {
    if (value !== undefined && !/^https?:\/\//.test(value)) {
      return {
        ok: false,
        error: 'invalid_client_metadata',
        description: `${field} must be an http(s) URL`,
      };
    }
  }
  const grantTypes = data.grant_types ?? ['authorization_code'];
  const unsupported = grantTypes.find((g) => !GRANT_TYPES.includes(g));
  if (unsupported) {
    return {
      ok: false,
      error: 'invalid_client_metadata',
      description: `grant_types: ${unsupported} is not supported; use authorization_code and refresh_token`,
    };
  }
  const responseTypes = data.response_types ?? ['code'];
  if (responseTypes.some((r) => r !== 'code')) {
    return {
      ok: false,
      error: 'invalid_client_metadata',
      description: 'response_types: only "code" is supported',
    };
  }
  return {
    ok: true,
    metadata: {
      ...data,
      grant_types: grantTypes,
      response_types: responseTypes,
      token_endpoint_auth_method: 'none',
    },
  };
}

function fromRow(row: ClientRow | null): Client | null {
  if (!row) return null;
  return {
    ...row,
    redirect_uris: JSON.parse(row.redirect_uris),
    metadata: JSON.parse(row.metadata),
  };
}

/** Registered OAuth clients in hub.db. */
export const clients = {
  /** A new client: `pending`, unless an admin registered it (already `approved`). */
  create(
    db: Database,
    metadata: Record<string, unknown> & { redirect_uris: string[] },
    status: 'pending' | 'approved' = 'pending',
  ): Client {
    const now = Date.now();
    const clientId = `client_${randomToken().slice(0, 22)}`;
    const name = typeof metadata.client_name === 'string' ? metadata.client_name : null;
    db.run(
      `INSERT INTO oauth_clients (client_id, client_name, redirect_uris, metadata, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        clientId,
        name,
        JSON.stringify(metadata.redirect_uris),
        JSON.stringify(metadata),
        status,
        now,
        now,
      ],
    );
    return clients.byId(db, clientId) as Client;
  },

  /**
   * Writes the client a metadata document describes (client_id = its URL),
   * keeping its status: an admin's approval or denial outlives re-fetches.
   */
  upsertDocument(
    db: Database,
    clientId: string,
    metadata: Record<string, unknown> & { redirect_uris: string[] },
  ): Client {
    const now = Date.now();
    const name = typeof metadata.client_name === 'string' ? metadata.client_name : null;
    if (!clients.byId(db, clientId)) clients.makeRoomForPending(db);
    db.run(
      `INSERT INTO oauth_clients (client_id, client_name, redirect_uris, metadata, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET client_name = excluded.client_name,
         redirect_uris = excluded.redirect_uris, metadata = excluded.metadata, updated_at = excluded.updated_at`,
      [clientId, name, JSON.stringify(metadata.redirect_uris), JSON.stringify(metadata), now, now],
    );
    return clients.byId(db, clientId) as Client;
  },

  /**
   * An admin registering an app again (surface does at every start) gets
   * the approved app of the same name and redirect URIs, its metadata
   * updated, rather than one more app: upstream upserts on these too.
   */
  reuseApproved(
    db: Database,
    metadata: Record<string, unknown> & { redirect_uris: string[] },
  ): Client | null {
    const name = typeof metadata.client_name === 'string' ? metadata.client_name : null;
    const row = db
      .query(
        `SELECT client_id FROM oauth_clients WHERE status = 'approved' AND client_name IS ? AND redirect_uris = ?
         ORDER BY created_at LIMIT 1`,
      )
      .get(name, JSON.stringify(metadata.redirect_uris)) as { client_id: string } | null;
    if (!row) return null;
    db.run('UPDATE oauth_clients SET metadata = ?, updated_at = ? WHERE client_id = ?', [
      JSON.stringify(metadata),
      Date.now(),
      row.client_id,
    ]);
    return clients.byId(db, row.client_id);
  },

  byId(db: Database, clientId: string): Client | null {
    return fromRow(
      db.query('SELECT * FROM oauth_clients WHERE client_id = ?').get(clientId) as ClientRow | null,
    );
  },

  list(db: Database): (Client & { grant_count: number })[] {
    const rows = db
      .query(
        `SELECT c.*, (SELECT COUNT(*) FROM oauth_grants g WHERE g.client_id = c.client_id) AS grant_count
         FROM oauth_clients c
         ORDER BY CASE c.status WHEN 'pending' THEN 0 ELSE 1 END, c.created_at DESC`,
      )
      .all() as (ClientRow & { grant_count: number })[];
    return rows.map((row) => ({ ...(fromRow(row) as Client), grant_count: row.grant_count }));
  },

  /** Pending clients nobody approved: bounded, so open registration cannot fill the disk. */
  countPending(db: Database): number {
    return (
      db.query("SELECT COUNT(*) AS n FROM oauth_clients WHERE status = 'pending'").get() as {
        n: number;
      }
    ).n;
  },

  /**
   * Makes room for one more pending client under `max`: drops the oldest
   * pending clients nobody has used. Returns how many were dropped.
   */
  evictOldestPending(db: Database, max: number): number {
    const excess = clients.countPending(db) - (max - 1);
    if (excess <= 0) return 0;
    return db.run(
      `DELETE FROM oauth_clients WHERE client_id IN (
         SELECT client_id FROM oauth_clients WHERE status = 'pending' AND last_used_at IS NULL
         ORDER BY created_at, rowid LIMIT ?)`,
      [excess],
    ).changes;
  },

  /** Before adding a pending client: drops expired ones, and the oldest unused one at the cap. */
  makeRoomForPending(db: Database): void {
    clients.prunePending(db, PENDING_CLIENT_MAX_AGE_MS);
    clients.evictOldestPending(db, MAX_PENDING_CLIENTS);
  },

  /** Drops pending clients that were never used and are older than `maxAgeMs`. */
  prunePending(db: Database, maxAgeMs: number): void {
    db.run(
      `DELETE FROM oauth_clients WHERE status = 'pending' AND last_used_at IS NULL AND created_at < ?`,
      [Date.now() - maxAgeMs],
    );
  },

  setStatus(db: Database, clientId: string, status: ClientStatus): void {
    db.run('UPDATE oauth_clients SET status = ?, updated_at = ? WHERE client_id = ?', [
      status,
      Date.now(),
      clientId,
    ]);
  },

  touch(db: Database, clientId: string): void {
    db.run('UPDATE oauth_clients SET last_used_at = ? WHERE client_id = ?', [Date.now(), clientId]);
  },

  /**
   * Deletes a client and ends everything it holds: its access tokens join
   * the revocation list first, then its grants, refresh tokens and codes go
   * with it (foreign keys cascade).
   */
  delete(db: Database, clientId: string): void {
    families.revokeWhere(db, 'client_id', clientId);
    db.run('DELETE FROM oauth_clients WHERE client_id = ?', [clientId]);
  },
};

/** What GET /api/oauth/clients shows of a client. */
export function publicClient(client: Client & { grant_count?: number }) {
  return {
    client_id: client.client_id,
    client_name: client.client_name,
    client_uri: typeof client.metadata.client_uri === 'string' ? client.metadata.client_uri : null,
    redirect_uris: client.redirect_uris,
    status: client.status,
    created_at: client.created_at,
    last_used_at: client.last_used_at,
    grant_count: client.grant_count ?? 0,
  };
}
