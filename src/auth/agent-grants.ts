import type { Database } from 'bun:sqlite';
import type { AuthContext } from './context.ts';
import { mintToken } from './mint.ts';
import { mintedTokens } from './minted-tokens.ts';

/** What an agent asks for: access to one vault, maybe limited to tags (upstream's vault connection spec). */
export interface VaultSpec {
  kind: 'vault';
  target: string;
  access: 'read' | 'write';
  tags: string[];
}

/** One grant as stored. */
interface Row {
  id: string;
  agent: string;
  kind: 'vault';
  target: string;
  access: 'read' | 'write';
  tags: string;
  status: 'pending' | 'approved' | 'revoked';
  token: string | null;
  jti: string | null;
  approved_at: number | null;
  created_at: number;
  updated_at: number;
}

export type SpecCheck = { ok: true; spec: VaultSpec } | { ok: false; error: string; why: string };

const AGENT = /^[a-z0-9][a-z0-9_.-]*$/i;
const MAX_TAGS = 64;
const GRANT_TTL_S = 90 * 24 * 3600;

export function agentProblem(agent: unknown): string | null {
  return typeof agent === 'string' && agent.length <= 128 && AGENT.test(agent)
    ? null
    : 'agent must be a name of letters, digits, _ . and - (at most 128).';
}

/** Upstream's connection spec, vault kind only; `vaults` are the vaults this hub has. */
export function checkSpec(input: unknown, vaults: string[]): SpecCheck {
  const c = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  if (c.kind !== 'vault') {
    return {
      ok: false,
      error: 'unsupported_kind',
      why: `Only vault grants are supported by this hub (connection.kind "vault"), not ${JSON.stringify(c.kind ?? null)}.`,
    };
  }
  if (typeof c.target !== 'string' || !vaults.includes(c.target)) {
    return {
      ok: false,
      error: 'unknown_vault',
      why: `No vault named ${JSON.stringify(c.target ?? null)} on this hub.`,
    };
  }
  const access = c.access ?? 'read';
  if (access !== 'read' && access !== 'write') {
    return { ok: false, error: 'invalid_request', why: 'connection.access must be read or write.' };
  }
  const tags = c.tags ?? [];
  if (
    !Array.isArray(tags) ||
    tags.length > MAX_TAGS ||
    tags.some((t) => typeof t !== 'string' || t === '' || /\s/.test(t))
  ) {
    return {
      ok: false,
      error: 'invalid_request',
      why: `connection.tags must be at most ${MAX_TAGS} non-empty tags without whitespace.`,
    };
  }
  return {
    ok: true,
    spec: { kind: 'vault', target: c.target, access, tags: [...new Set(tags as string[])].sort() },
  };
}

/**
 * Agent-connector grants (upstream's /admin/grants, vault kind): the agent
 * module (with the host's bearer) asks for access for one of its agents,
 * an admin approves it in person, and only then is a token minted; the
 * agent fetches it as the grant's material. Revoking, reconciling away or
 * deleting the vault ends the token.
 */
export class AgentGrants {
  constructor(private readonly ctx: AuthContext) {}

  private get db(): Database {
    return this.ctx.db;
  }

  /** Asks for a grant; the same ask again is the same grant. */
  upsert(
    agent: string,
    spec: VaultSpec,
  ): { created: boolean; listing: ReturnType<AgentGrants['listing']> } {
    const found = this.find(agent, spec);
    if (found) return { created: false, listing: this.listing(found) };
    const now = Date.now();
    const id = `ag_${crypto.randomUUID()}`;
    this.db.run(
      `INSERT INTO agent_grants (id, agent, kind, target, access, tags, status, created_at, updated_at)
       VALUES (?, ?, 'vault', ?, ?, ?, 'pending', ?, ?)`,
      [id, agent, spec.target, spec.access, JSON.stringify(spec.tags), now, now],
    );
    return { created: true, listing: this.listing(this.byId(id) as Row) };
  }

  list(agent: string | null) {
    const rows = (
      agent === null
        ? this.db.query('SELECT * FROM agent_grants ORDER BY created_at, id').all()
        : this.db
            .query('SELECT * FROM agent_grants WHERE agent = ? ORDER BY created_at, id')
            .all(agent)
    ) as Row[];
    return rows.map((r) => this.listing(r));
  }

  byId(id: string): Row | null {
    return this.db.query('SELECT * FROM agent_grants WHERE id = ?').get(id) as Row | null;
  }

  /** Drops the agent's grants not among `live`, ending their tokens; returns their ids. */
  reconcile(agent: string, live: VaultSpec[]): string[] {
    const keep = new Set(live.map((s) => key(s)));
    const rows = this.db.query('SELECT * FROM agent_grants WHERE agent = ?').all(agent) as Row[];
    const pruned = rows.filter((r) => !keep.has(key(specOf(r))));
    this.db.transaction(() => {
      for (const r of pruned) this.remove(r);
    })();
    return pruned.map((r) => r.id);
  }

  /** An admin approves: the token is minted on their authority (it ends with them). */
  async approve(row: Row, userId: string) {
    if (this.status(row) === 'approved') return this.listing(row);
    const minted = await mintToken(this.ctx, {
      subject: `agent:${row.agent}`,
      userId,
      clientId: 'parachute-hub',
      scopes: [`vault:${row.target}:${row.access}`],
      audience: `vault.${row.target}`,
      vaultScope: [row.target],
      ttlSeconds: GRANT_TTL_S,
      ...(JSON.parse(row.tags).length > 0
        ? { permissions: { scoped_tags: JSON.parse(row.tags) } }
        : {}),
      record: { via: 'agent_grant' },
    });
    const now = Date.now();
    this.db.run(
      `UPDATE agent_grants SET status = 'approved', token = ?, jti = ?, approved_at = ?, updated_at = ? WHERE id = ?`,
      [minted.token, minted.jti, now, now, row.id],
    );
    return this.listing(this.byId(row.id) as Row);
  }

  revoke(row: Row) {
    if (row.jti) mintedTokens.revoke(this.db, row.jti);
    this.db.run(
      `UPDATE agent_grants SET status = 'revoked', token = NULL, jti = NULL, updated_at = ? WHERE id = ?`,
      [Date.now(), row.id],
    );
    return this.listing(this.byId(row.id) as Row);
  }

  /** The approved grant's token and where to use it; null unless approved and still live. */
  material(row: Row) {
    if (this.status(row) !== 'approved' || !row.token) return null;
    return {
      kind: 'vault',
      token: row.token,
      mcpUrl: `${this.ctx.origin}/vault/${row.target}/mcp`,
    };
  }

  /** What the agent module sees: never the token. */
  listing(row: Row) {
    return {
      id: row.id,
      agent: row.agent,
      connection: specOf(row),
      status: this.status(row),
      ...(row.approved_at ? { approvedAt: new Date(row.approved_at).toISOString() } : {}),
    };
  }

  /** An approved grant whose token ended elsewhere (a password reset, a revoke) is revoked. */
  status(row: Row): Row['status'] {
    if (row.status !== 'approved' || !row.jti) return row.status;
    const token = mintedTokens.byJti(this.db, row.jti);
    return token && token.revoked_at === null && token.expires_at > Date.now()
      ? 'approved'
      : 'revoked';
  }

  private find(agent: string, spec: VaultSpec): Row | null {
    return this.db
      .query(
        "SELECT * FROM agent_grants WHERE agent = ? AND kind = 'vault' AND target = ? AND access = ? AND tags = ?",
      )
      .get(agent, spec.target, spec.access, JSON.stringify(spec.tags)) as Row | null;
  }

  private remove(row: Row): void {
    if (row.jti) mintedTokens.revoke(this.db, row.jti);
    this.db.run('DELETE FROM agent_grants WHERE id = ?', [row.id]);
  }
}

function specOf(row: Row): VaultSpec {
  return { kind: row.kind, target: row.target, access: row.access, tags: JSON.parse(row.tags) };
}

function key(spec: VaultSpec): string {
  return JSON.stringify([spec.kind, spec.target, spec.access, spec.tags]);
}
