import type { Database } from 'bun:sqlite';
import { mintedTokens } from './minted-tokens.ts';

/**
 * A credential connection (issue 15 point 2): the admin linked a vault
 * credential to a module, which holds it. The tokens are recorded mints
 * (minted_tokens.connection_id), never stored here.
 */
export interface Connection {
  id: string;
  kind: 'credential';
  /** Short name of the module holding the credential. */
  module: string;
  credential_key: string;
  vault: string;
  /** `vault:<vault>:read` or `vault:<vault>:write`. */
  scope: string;
  /** Tags the credential is limited to; [] = the whole vault. */
  scoped_tags: string[];
  /** The module's declared endpoint, on its own port. */
  endpoint: string;
  requested_by: string;
  created_at: number;
  updated_at: number;
}

type Row = Omit<Connection, 'scoped_tags'> & { scoped_tags: string };

const fromRow = (row: Row): Connection => ({ ...row, scoped_tags: JSON.parse(row.scoped_tags) });

export const connections = {
  get(db: Database, id: string): Connection | null {
    const row = db.query('SELECT * FROM connections WHERE id = ?').get(id) as Row | null;
    return row ? fromRow(row) : null;
  },

  list(db: Database): Connection[] {
    return (db.query('SELECT * FROM connections ORDER BY created_at, id').all() as Row[]).map(
      fromRow,
    );
  },

  onVault(db: Database, vault: string): Connection[] {
    return connections.list(db).filter((c) => c.vault === vault);
  },

  /** Creates or replaces the connection (a re-link keeps its first created_at). */
  save(db: Database, c: Connection): void {
    db.run(
      `INSERT INTO connections (id, kind, module, credential_key, vault, scope, scoped_tags, endpoint, requested_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, module = excluded.module,
         credential_key = excluded.credential_key, vault = excluded.vault, scope = excluded.scope,
         scoped_tags = excluded.scoped_tags, endpoint = excluded.endpoint,
         requested_by = excluded.requested_by, updated_at = excluded.updated_at`,
      [
        c.id,
        c.kind,
        c.module,
        c.credential_key,
        c.vault,
        c.scope,
        JSON.stringify(c.scoped_tags),
        c.endpoint,
        c.requested_by,
        c.created_at,
        c.updated_at,
      ],
    );
  },

  remove(db: Database, id: string): void {
    db.run('DELETE FROM connections WHERE id = ?', [id]);
  },

  /** The wire shape of GET /admin/connections (upstream's: snake_case outside, camelCase inside). */
  wire(db: Database, c: Connection) {
    return {
      id: c.id,
      kind: c.kind,
      source: { module: 'vault', vault: c.vault, event: 'credential' },
      sink: {
        module: c.module,
        action: `credential.${c.credential_key}`,
        ...(c.scoped_tags.length > 0 ? { params: { tags: c.scoped_tags } } : {}),
      },
      provisioned: {
        type: 'credential',
        vault: c.vault,
        scope: c.scope,
        scopedTags: c.scoped_tags,
        credentialKey: c.credential_key,
        endpoint: c.endpoint,
        // Which tokens are live, never the tokens themselves.
        mintedJtis: mintedTokens.liveOfConnection(db, c.id).map((t) => t.jti),
      },
      requested_by: c.requested_by,
      created_at: new Date(c.created_at).toISOString(),
    };
  },
};
