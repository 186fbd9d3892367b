import type { Database } from 'bun:sqlite';
import { mintedTokens, namesVault } from './minted-tokens.ts';
import { type Grant, scopeList } from './oauth/grants.ts';
import type { PendingAuthorizations } from './oauth/pending.ts';
import { families } from './oauth/tokens.ts';

/** What deleting a vault took away from the hub's identity records (upstream's summary fields). */
export interface IdentityCascade {
  tokens_revoked: number;
  grants_rewritten: number;
  grants_dropped: number;
  user_vaults_removed: number;
}

/**
 * The identity side of deleting vault `name` (upstream's B1 cascade): every
 * recorded token and OAuth sign-in naming it is revoked (their jtis go on the
 * revocation list), consent grants lose its scopes (a grant left with none
 * goes), users lose it from their assignable vaults, agents' grants on it
 * go, and codes and
 * open consent requests naming it are dropped. Afterwards no row of hub.db
 * names the vault; the revocation list holds only jtis. One transaction:
 * all of it happens or none.
 */
export function cascadeVaultIdentity(
  db: Database,
  pending: PendingAuthorizations,
  name: string,
): IdentityCascade {
  const resourceNames = (resource: string | null) =>
    resource !== null && new RegExp(`/vault/${name}(/|$)`).test(resource);
  const audienceNames = (audience: string) => audience.includes(`"vault.${name}"`);
  return db.transaction(() => {
    let tokens = mintedTokens.revokeNamingVault(db, name);
    const signIns = db.query('SELECT id, scope, resource, audience FROM oauth_families').all() as {
      id: string;
      scope: string;
      resource: string | null;
      audience: string;
    }[];
    for (const f of signIns) {
      if (namesVault(f.scope, name) || resourceNames(f.resource) || audienceNames(f.audience)) {
        families.revoke(db, f.id);
        tokens++;
      }
    }
    // Codes, used or not: an unused one could still be redeemed, a used one only names it.
    const codes = db.query('SELECT code_hash, scope, resource FROM oauth_codes').all() as {
      code_hash: string;
      scope: string;
      resource: string | null;
    }[];
    for (const c of codes) {
      if (namesVault(c.scope, name) || resourceNames(c.resource)) {
        db.run('DELETE FROM oauth_codes WHERE code_hash = ?', [c.code_hash]);
      }
    }
    let rewritten = 0;
    let dropped = 0;
    for (const grant of db.query('SELECT * FROM oauth_grants').all() as Grant[]) {
      const scopes = scopeList(grant.scope);
      const kept = scopes.filter((s) => !namesVault(s, name));
      if (kept.length === scopes.length) continue;
      if (kept.length === 0) {
        // Its sign-ins and codes go with it (foreign keys).
        db.run('DELETE FROM oauth_grants WHERE id = ?', [grant.id]);
        dropped++;
      } else {
        db.run('UPDATE oauth_grants SET scope = ?, updated_at = ? WHERE id = ?', [
          kept.join(' '),
          Date.now(),
          grant.id,
        ]);
        rewritten++;
      }
    }
    const assigned = db.run('DELETE FROM user_vaults WHERE vault = ?', [name]).changes;
    // Agents' grants on it (auth/agent-grants.ts): their tokens were revoked above.
    db.run("DELETE FROM agent_grants WHERE kind = 'vault' AND target = ?", [name]);
    // Revoked above (or before): their jtis stay on the revocation list, their rows go.
    mintedTokens.forgetNamingVault(db, name);
    pending.dropWhere(
      (p) => p.scopes.some((s) => namesVault(s, name)) || resourceNames(p.resource),
    );
    return {
      tokens_revoked: tokens,
      grants_rewritten: rewritten,
      grants_dropped: dropped,
      user_vaults_removed: assigned,
    };
  })();
}
