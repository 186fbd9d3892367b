import type { AuthContext } from '../context.ts';
import type { User } from '../users.ts';
import { ClientMetadataDocuments, isMetadataDocumentId } from './client-metadata.ts';
import { type Client, clients } from './clients.ts';
import { userVaults } from './grants.ts';
import { PendingAuthorizations } from './pending.ts';
import { type ResourceInfo, ScopeCatalog, type ScopeSource } from './scopes.ts';
import { type TokenServices, tokenServices } from './token-services.ts';

/** A refusal with an RFC 6749 / RFC 8707 error code. */
export interface OAuthProblem {
  error: 'invalid_scope' | 'invalid_target' | 'invalid_request' | 'access_denied';
  description: string;
}

/** What can be granted of a request, and what was left out and why. */
export interface NarrowedScopes {
  /** Exact scopes to grant. */
  scopes: string[];
  /** Verbs of broad `vault:<verb>` requests, to be narrowed to vaults the user picks. */
  vaultVerbs: string[];
  dropped: DroppedScope[];
}

export interface DroppedScope {
  scope: string;
  /** Plain words, shown on the consent page and in errors. */
  reason: string;
}

/** The protected resource a `resource` parameter names. */
export interface ResolvedResource {
  url: string;
  /** Null for the hub itself (the origin with no path). */
  info: ResourceInfo | null;
}

/** The OAuth issuer's shared state: the auth context, installed modules' scopes, pending consents. */
export class OAuthIssuer {
  readonly pending = new PendingAuthorizations();

  readonly documents: ClientMetadataDocuments;

  constructor(
    readonly auth: AuthContext,
    private readonly sources: () => ScopeSource[],
  ) {
    this.documents = new ClientMetadataDocuments(auth.db, {
      privateHosts: privateHostsOf(auth.env),
    });
  }

  /**
   * The client a client_id names: a registered one, or for an https URL its
   * metadata document (fetched, checked and cached); or why there is none.
   */
  async client(clientId: string, address: string): Promise<Client | { problem: string }> {
    if (isMetadataDocumentId(clientId)) return this.documents.resolve(clientId, address);
    return (
      clients.byId(this.auth.db, clientId) ?? {
        problem:
          'Its client_id is unknown here (it may have been deleted). Start connecting again from the app; it will register anew.',
      }
    );
  }

  get issuer(): string {
    return this.auth.origin;
  }

  catalog(): ScopeCatalog {
    return new ScopeCatalog(this.sources());
  }

  /** Where the modules of granted `scope` answer: the token answer's `services` and `vault`. */
  servicesFor(scope: string): TokenServices {
    const sources = this.sources();
    const scopes = scope.split(' ').filter(Boolean);
    return tokenServices(new ScopeCatalog(sources), sources, this.issuer, scopes);
  }

  /**
   * Checks a `resource` (RFC 8707): an absolute URL on one of the hub's
   * origins whose path is the hub itself or lies under a module mount.
   * The exact value protected-resource metadata advertises always passes,
   * and so does it with a trailing slash: `url` is the canonical form,
   * without one, so later comparisons do not depend on how a client spelled it.
   */
  resolveResource(catalog: ScopeCatalog, raw: string): ResolvedResource | OAuthProblem {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return targetProblem(`resource ${raw} is not an absolute URL`);
    }
    if (url.hash || raw.includes('#')) return targetProblem('resource must not contain a fragment');
    if (!this.auth.origins.includes(url.origin)) {
      return targetProblem(`resource ${raw} is not on this hub (${this.issuer})`);
    }
    const canonical = canonicalResource(raw);
    if (url.pathname === '/' || url.pathname === '') return { url: canonical, info: null };
    const info = catalog.resourceForPath(url.pathname);
    if (!info) return targetProblem(`no installed module is mounted at ${url.pathname}`);
    return { url: canonical, info };
  }

  /**
   * Narrows requested scopes to what can be granted (auth.md section 4, RFC
   * 6749 section 3.3: the server may issue less than asked and says so).
   * Standard MCP clients copy a module's `scopes_supported` verbatim, so
   * unknown scopes, the hub's own, scopes of another resource and scopes
   * the user cannot hold are dropped, not refused; broad `vault:<verb>` is
   * narrowed to the vault `resource` names, or left for the user to pick
   * vaults when there is no resource. Only an empty result is `invalid_scope`.
   * With no scope at all, the resource's read and write scopes are the default.
   */
  narrowScopes(
    catalog: ScopeCatalog,
    requested: string[],
    resource: ResolvedResource | null,
    user: User | null,
  ): NarrowedScopes | OAuthProblem {
    let wanted = requested;
    if (wanted.length === 0) {
      wanted = resource?.info ? catalog.offered(resource.info.scopes) : [];
      if (wanted.length === 0) {
        return scopeProblem('Say which scopes the app needs (the scope parameter is empty).');
      }
    }
    const target = resource?.info ?? null;
    const targetVault = target?.audience.startsWith('vault.') ? target.audience.slice(6) : null;
    const userVaults = user && user.role !== 'admin' ? this.vaultsOf(user, catalog) : null;
    const scopes = new Set<string>();
    const vaultVerbs = new Set<string>();
    const dropped: DroppedScope[] = [];
    const drop = (scope: string, reason: string) => dropped.push({ scope, reason });
    for (const asked of new Set(wanted)) {
      if (ScopeCatalog.isHubOnly(asked)) {
        drop(asked, "it belongs to the hub's operator and is never granted to apps");
        continue;
      }
      let scope = asked;
      const broad = ScopeCatalog.broadVaultVerb(asked);
      if (broad) {
        if (target && !targetVault) {
          drop(asked, `${resourceLabel(resource)} is not a vault`);
          continue;
        }
        if (!targetVault) {
          // No resource: the user picks vaults on the consent page.
          const pickable = userVaults ?? catalog.vaults;
          if (pickable.length === 0) drop(asked, 'no vault is available to you');
          else if (broad === 'admin' && userVaults) drop(asked, 'only admins can grant it');
          else vaultVerbs.add(broad);
          continue;
        }
        scope = `vault:${targetVault}:${broad}`;
      }
      const info = catalog.scopes.get(scope);
      if (!info) {
        drop(asked, 'no installed module defines it');
        continue;
      }
      if (target && info.audience !== target.audience) {
        drop(asked, `it is not a scope of ${resourceLabel(resource)}`);
        continue;
      }
      if (userVaults) {
        const vault = info.audience.startsWith('vault.') ? info.audience.slice(6) : null;
        if (info.adminVerb) {
          drop(asked, 'only admins can grant it');
          continue;
        }
        if (vault && !userVaults.includes(vault)) {
          drop(asked, `the vault ${vault} is not assigned to you`);
          continue;
        }
      }
      scopes.add(scope);
    }
    if (scopes.size === 0 && vaultVerbs.size === 0) {
      const why = dropped.map((d) => `${d.scope}: ${d.reason}`).join('; ');
      return scopeProblem(`Nothing asked for can be granted (${why}).`);
    }
    return { scopes: [...scopes], vaultVerbs: [...vaultVerbs], dropped };
  }

  /** Vaults `user` may grant: all of them for admins, the assigned ones otherwise. */
  vaultsOf(user: User, catalog?: ScopeCatalog): string[] {
    const all = (catalog ?? this.catalog()).vaults;
    if (user.role === 'admin') return all;
    const assigned = userVaults.of(this.auth.db, user.id);
    return all.filter((v) => assigned.includes(v));
  }

  /**
   * The `aud` of tokens for these scopes (auth.md section 3): the resource's
   * audience, else the one module every scope belongs to, else `hub`; with
   * a resource, an array of the audience name and the resource URL.
   */
  audience(catalog: ScopeCatalog, scopes: string[], resource: string | null): string | string[] {
    const resolved = resource ? this.resolveResource(catalog, resource) : null;
    const fromResource = resolved && 'info' in resolved ? resolved.info?.audience : undefined;
    // Without a resource (Claude Code sends none), the token names every
    // module its scopes belong to, so each of them finds its own `aud`.
    const names = fromResource
      ? [fromResource]
      : [...new Set(scopes.map((s) => catalog.scopes.get(s)?.audience ?? 'hub'))].sort();
    if (names.length === 0) names.push('hub');
    if (resource) return [...names, resource];
    return names.length === 1 ? (names[0] as string) : names;
  }
}

/** A resource URL without trailing slashes on its path: `https://hub/vault/a/` is `https://hub/vault/a`. */
export function canonicalResource(raw: string): string {
  return raw.replace(/^([^?]*?)\/+(\?|$)/, '$1$2');
}

export function isProblem(value: object): value is OAuthProblem {
  return 'error' in value;
}

/**
 * PARACHUTE_CIMD_PRIVATE_HOSTS: host names whose metadata documents may be
 * fetched from loopback or private addresses (a client on the operator's LAN).
 */
function privateHostsOf(env: Record<string, string | undefined>): Set<string> {
  return new Set(
    (env.PARACHUTE_CIMD_PRIVATE_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
}

function resourceLabel(resource: ResolvedResource | null): string {
  return resource ? `the resource ${resource.url}` : 'the hub';
}

function scopeProblem(description: string): OAuthProblem {
  return { error: 'invalid_scope', description };
}

function targetProblem(description: string): OAuthProblem {
  return { error: 'invalid_target', description };
}
