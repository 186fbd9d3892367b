import { type Connection, connections } from './connections.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { verifyBearer } from './guard.ts';
import { API_CLIENT_ID, type Minted, mintToken } from './mint.ts';
import { mintedTokens } from './minted-tokens.ts';

/** A module.json `credentials[]` entry (modules/schema.ts). */
export interface CredentialDecl {
  key: string;
  title: string;
  description?: string;
  /** `vault:{vault}:read` or `vault:{vault}:write`. */
  scope: string;
  endpoint: string;
}

/** What connections need to know about installed modules and vaults. */
export interface CredentialModules {
  /** The installed module with this short name: its port and declared credentials. */
  find(short: string): { port: number; credentials: CredentialDecl[] } | null;
  /** The vaults this hub serves. */
  vaults(): string[];
}

/** A refusal: the status and the JSON body to answer with. */
export interface Refusal {
  ok: false;
  status: 400 | 401 | 403 | 404 | 502;
  body: { error: string; error_description: string; step?: string };
}
type Result<T> = ({ ok: true } & T) | Refusal;

export const CONNECTION_ID = /^[a-z0-9][a-z0-9_-]*$/;
const VAULT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const CREDENTIAL_TTL_S = 90 * 24 * 3600;
/** The delivery bearer lives a minute and is not recorded: it only carries one POST. */
const DELIVERY_TOKEN_TTL_S = 60;
/** A module that does not answer its endpoint in this long has not taken the credential. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** The credential payload modules receive (upstream's CredentialPayload, snake_case). */
function payload(c: Connection, op: 'provisioned' | 'renewed' | 'removed', minted?: Minted) {
  return {
    kind: 'credential',
    op,
    connection_id: c.id,
    key: c.credential_key,
    vault: c.vault,
    scope: c.scope,
    scoped_tags: c.scoped_tags,
    ...(minted
      ? {
          token: minted.token,
          jti: minted.jti,
          expires_at: minted.expiresAt,
          renew_path: `/admin/connections/${c.id}/renew`,
        }
      : {}),
  };
}

/**
 * Credential connections (issue 15 point 2, upstream's contract): the hub
 * mints a 90-day vault token limited to one vault (and to tags, for a
 * write credential), recorded so it can be revoked, and hands it to the
 * module at the endpoint its module.json declares, directly on the
 * module's port. The module renews it by proving it holds it. Removing the
 * connection revokes every token it ever minted.
 */
export class CredentialConnections {
  constructor(
    private readonly ctx: AuthContext,
    private readonly modules: CredentialModules,
  ) {}

  /**
   * Links a credential: checks, mints, delivers, then records. A module
   * that refuses the credential or cannot be reached leaves nothing behind:
   * the fresh token is revoked and no connection is written. A re-link of
   * the same id replaces the credential, revoking the one before (only
   * after the new one was delivered, so a failed re-link keeps the link).
   * `callerModule`: a module's own origin may link only that module.
   */
  async create(body: unknown, callerModule: string | null): Promise<Result<{ response: object }>> {
    const checked = this.check(body);
    if (!checked.ok) return checked;
    const { spec, decl, port } = checked;
    const existing = connections.get(this.ctx.db, spec.id);
    for (const owner of [spec.module, existing?.module]) {
      if (callerModule !== null && owner !== undefined && owner !== callerModule) {
        return refuse(
          403,
          'wrong_module',
          `This is ${callerModule}'s own origin: it may link only ${callerModule}'s credentials, not ${owner}'s.`,
        );
      }
    }
    const now = Date.now();
    const connection: Connection = {
      id: spec.id,
      kind: 'credential',
      module: spec.module,
      credential_key: spec.key,
      vault: spec.vault,
      scope: `vault:${spec.vault}:${decl.scope.endsWith(':write') ? 'write' : 'read'}`,
      scoped_tags: spec.tags,
      endpoint: decl.endpoint,
      requested_by: spec.requestedBy,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    const minted = await this.mintCredential(connection);
    const delivered = await this.deliver(
      connection,
      port,
      payload(connection, 'provisioned', minted),
    );
    if (delivered !== null) {
      mintedTokens.revoke(this.ctx.db, minted.jti);
      return refuse(
        502,
        'provision_failed',
        `${spec.module} did not take the credential at ${decl.endpoint}: ${delivered}. Nothing was linked.`,
        'credential_delivery',
      );
    }
    this.ctx.db.transaction(() => {
      connections.save(this.ctx.db, connection);
      for (const old of mintedTokens.liveOfConnection(this.ctx.db, connection.id)) {
        if (old.jti !== minted.jti) mintedTokens.revoke(this.ctx.db, old.jti);
      }
    })();
    // The id now names another module's credential: the one that held it is told (best effort).
    const before = existing && this.modules.find(existing.module);
    if (
      before &&
      (existing.module !== connection.module || existing.endpoint !== connection.endpoint)
    ) {
      await this.deliver(existing, before.port, payload(existing, 'removed'));
    }
    return {
      ok: true,
      response: {
        ok: true,
        connection: connections.wire(this.ctx.db, connection),
        expires_at: minted.expiresAt,
      },
    };
  }

  /**
   * Tears a connection down: tells the module (best effort), revokes every
   * token the connection minted, deletes it. Steps that fail are reported,
   * never stop the others.
   */
  async teardown(c: Connection): Promise<{ step: string; detail: string }[]> {
    const errors: { step: string; detail: string }[] = [];
    const module = this.modules.find(c.module);
    if (!module) {
      errors.push({ step: 'credential_removal', detail: `${c.module} is not installed any more` });
    } else {
      const problem = await this.deliver(c, module.port, payload(c, 'removed'));
      if (problem) errors.push({ step: 'credential_removal', detail: problem });
    }
    const db = this.ctx.db;
    db.transaction(() => {
      mintedTokens.revokeWhere(db, 'connection_id', c.id);
      connections.remove(db, c.id);
    })();
    return errors;
  }

  /**
   * A module was uninstalled: its connections end (their tokens revoked),
   * so a credential left in its data folder is worthless.
   */
  async forgetModule(module: string): Promise<void> {
    for (const c of connections.list(this.ctx.db).filter((c) => c.module === module)) {
      await this.teardown(c);
    }
  }

  /**
   * Renewal by proof of possession: the bearer must be the connection's
   * current credential. The new one is in the answer; the old one ends.
   */
  async renew(id: string, token: string | null): Promise<Result<{ response: object }>> {
    const c = connections.get(this.ctx.db, id);
    if (!c) return refuse(404, 'not_found', `No connection "${id}".`);
    if (!token) {
      return refuse(
        401,
        'unauthenticated',
        'Send the current credential as Authorization: Bearer.',
      );
    }
    const verified = await verifyBearer(this.ctx, token, null);
    if (!verified.ok) {
      return refuse(
        401,
        'invalid_credential',
        `${verified.body.error_description} An expired or revoked credential cannot be renewed: link it again.`,
      );
    }
    const live = mintedTokens.liveOfConnection(this.ctx.db, c.id);
    if (!live.some((t) => t.jti === verified.claims.jti)) {
      return refuse(
        403,
        'not_credential_holder',
        `That token is not the current credential of connection "${id}".`,
      );
    }
    const minted = await this.mintCredential(c);
    this.ctx.db.transaction(() => {
      for (const old of live) mintedTokens.revoke(this.ctx.db, old.jti);
      connections.save(this.ctx.db, { ...c, updated_at: Date.now() });
    })();
    return { ok: true, response: { ok: true, credential: payload(c, 'renewed', minted) } };
  }

  private mintCredential(c: Connection): Promise<Minted> {
    return mintToken(this.ctx, {
      subject: 'connection',
      userId: null,
      clientId: API_CLIENT_ID,
      scopes: [c.scope],
      audience: `vault.${c.vault}`,
      vaultScope: [c.vault],
      ttlSeconds: CREDENTIAL_TTL_S,
      ...(c.scoped_tags.length > 0 ? { permissions: { scoped_tags: c.scoped_tags } } : {}),
      record: { via: 'connection_credential', connectionId: c.id },
    });
  }

  /**
   * POSTs a payload to the module's endpoint on its own port, with a
   * one-minute `<module>:admin` bearer so the module knows it is the hub.
   * Null when the module took it (2xx), else what went wrong.
   */
  private async deliver(c: Connection, port: number, body: object): Promise<string | null> {
    const bearer = await mintToken(this.ctx, {
      subject: 'parachute-hub',
      userId: null,
      clientId: API_CLIENT_ID,
      scopes: [`${c.module}:admin`],
      audience: c.module,
      vaultScope: [],
      ttlSeconds: DELIVERY_TOKEN_TTL_S,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${port}${c.endpoint}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      const text = (await res.text()).slice(0, 300);
      return res.ok ? null : `it answered ${res.status}${text ? ` (${text})` : ''}`;
    } catch (error) {
      const name = (error as Error).name;
      return name === 'TimeoutError'
        ? `it did not answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
        : `it could not be reached on port ${port} (${(error as Error).message})`;
    }
  }

  /** The checks of upstream's credential create, in its order, with its error codes. */
  private check(body: unknown):
    | {
        ok: true;
        spec: {
          id: string;
          module: string;
          key: string;
          vault: string;
          tags: string[];
          requestedBy: string;
        };
        decl: CredentialDecl;
        port: number;
      }
    | Refusal {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    if (b.kind !== 'credential') {
      return refuse(
        400,
        'unsupported_connection',
        'Only credential connections ({"kind": "credential", "credential": {module, key, vault}}) are supported by this hub; event-to-action connections are not.',
      );
    }
    const cred = (b.credential && typeof b.credential === 'object' ? b.credential : {}) as Record<
      string,
      unknown
    >;
    const { module, key, vault } = cred;
    if (typeof module !== 'string' || typeof key !== 'string' || typeof vault !== 'string') {
      return refuse(
        400,
        'invalid_request',
        'credential.module, .key and .vault are required strings.',
      );
    }
    const found = this.modules.find(module);
    if (!found) return refuse(400, 'unknown_module', `No module "${module}" is installed.`);
    const decl = found.credentials.find((d) => d.key === key);
    if (!decl) {
      return refuse(
        400,
        'unknown_credential',
        `${module} declares no credential "${key}" in its module.json credentials.`,
      );
    }
    if (!/^vault:\{vault\}:(read|write)$/.test(decl.scope)) {
      return refuse(
        400,
        'invalid_scope',
        `${module}'s credential "${key}" asks for ${decl.scope}; only vault:{vault}:read or vault:{vault}:write can be linked.`,
      );
    }
    if (!decl.endpoint.startsWith('/')) {
      return refuse(
        400,
        'credential_underdeclared',
        `${module}'s credential "${key}" declares no endpoint path to deliver it to.`,
      );
    }
    if (!VAULT_NAME.test(vault))
      return refuse(400, 'invalid_request', `"${vault}" is not a vault name.`);
    if (!this.modules.vaults().includes(vault)) {
      return refuse(400, 'unknown_vault', `No vault named "${vault}" on this hub.`);
    }
    const tags = cred.tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.trim() === '')) {
      return refuse(400, 'invalid_request', 'credential.tags must be a list of non-empty strings.');
    }
    const trimmed = [...new Set(tags.map((t: string) => t.trim()))];
    if (decl.scope.endsWith(':write') && trimmed.length === 0) {
      return refuse(
        400,
        'invalid_request',
        `A write credential must be limited to at least one tag (credential.tags): ${module} would otherwise write anywhere in "${vault}".`,
      );
    }
    const requestedBy = b.requestedBy ?? 'custom';
    if (typeof requestedBy !== 'string' || !CONNECTION_ID.test(requestedBy.toLowerCase())) {
      return refuse(400, 'invalid_request', 'requestedBy must be a slug ([a-z0-9][a-z0-9_-]*).');
    }
    const id = b.id ?? `cred-${module}-${key}-${vault}`.toLowerCase();
    if (typeof id !== 'string' || !CONNECTION_ID.test(id)) {
      return refuse(400, 'invalid_request', 'id must match [a-z0-9][a-z0-9_-]*.');
    }
    return {
      ok: true,
      spec: { id, module, key, vault, tags: trimmed, requestedBy: requestedBy.toLowerCase() },
      decl,
      port: found.port,
    };
  }
}

function refuse(
  status: Refusal['status'],
  error: string,
  description: string,
  step?: string,
): Refusal {
  return {
    ok: false,
    status,
    body: { ...authError(error, description), ...(step ? { step } : {}) },
  };
}
