import type { ScopeCatalog } from './oauth/scopes.ts';

/** What the hub's own token (GET /admin/host-admin-token) carries. */
export const HOST_SCOPES = ['parachute:host:admin', 'parachute:host:auth'] as const;

/** `vault:<name>:<verb>`, the only per-instance scope form. */
const NAMED_VAULT = /^vault:([a-z0-9][a-z0-9_-]*):(read|write|admin)$/;

/** What a bearer asked `POST /api/auth/mint-token` for, once checked. */
export interface MintGrant {
  scopes: string[];
  audience: string;
  vaults: string[];
}

export type MintDecision =
  | { ok: true; grant: MintGrant }
  | { ok: false; status: 400 | 403; error: 'invalid_scope' | 'insufficient_scope'; why: string };

/** True when a bearer's scopes let it mint on the host's authority (any catalog scope). */
export function holdsHostAuthority(held: string[]): boolean {
  return HOST_SCOPES.some((s) => held.includes(s));
}

/**
 * A bearer can only mint narrower authority than it holds (issue 15 point 1):
 *
 * - the operator or the hub's own token (`parachute:host:admin` or
 *   `parachute:host:auth`) mints any scope an installed module defines,
 *   and `vault:<name>:<verb>` for any vault there is;
 * - a token holding `vault:<name>:admin` mints `vault:<name>:<verb>` for
 *   that one vault;
 * - nothing else mints, and nobody mints the hub's own scopes here.
 *
 * One token is for one audience (one module, or one vault): a mix would
 * give a module a token carrying another's scopes.
 */
export function decideMint(catalog: ScopeCatalog, held: string[], asked: string[]): MintDecision {
  if (asked.length === 0) return invalid('Say which scope to mint.');
  const host = holdsHostAuthority(held);
  const audiences = new Set<string>();
  const vaults = new Set<string>();
  for (const scope of asked) {
    const info = catalog.scopes.get(scope);
    if (/^(parachute:host:.+|hub:admin)$/.test(scope)) {
      return invalid(`${scope} is the hub's own; it is never minted here.`);
    }
    if (!info) {
      return invalid(
        /^vault:(read|write|admin)$/.test(scope)
          ? `${scope} names no vault: ask for vault:<name>:${scope.split(':')[1]}.`
          : `${scope} is not a scope of any installed module (or a vault this hub has).`,
      );
    }
    const vault = NAMED_VAULT.exec(scope)?.[1];
    const allowed = host || (vault !== undefined && held.includes(`vault:${vault}:admin`));
    if (!allowed) {
      return {
        ok: false,
        status: 403,
        error: 'insufficient_scope',
        why: `This token cannot mint ${scope}: minting needs parachute:host:admin, or vault:<name>:admin for that vault's scopes.`,
      };
    }
    audiences.add(info.audience);
    if (vault) vaults.add(vault);
  }
  if (audiences.size > 1) {
    return invalid(
      `These scopes are for ${[...audiences].join(' and ')}: mint one token per module or vault.`,
    );
  }
  return {
    ok: true,
    grant: {
      scopes: [...new Set(asked)],
      audience: [...audiences][0] as string,
      vaults: [...vaults],
    },
  };
}

function invalid(why: string): MintDecision {
  return { ok: false, status: 400, error: 'invalid_scope', why };
}
