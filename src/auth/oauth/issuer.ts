import type { AuthContext } from '../context.ts';
import type { User } from '../users.ts';
import { userVaults } from './grants.ts';
import { PendingAuthorizations } from './pending.ts';
import { type ResourceInfo, ScopeCatalog, type ScopeSource } from './scopes.ts';

/** A refusal with an RFC 6749 / RFC 8707 error code. */
export interface OAuthProblem {
  error: 'invalid_scope' | 'invalid_target' | 'invalid_request' | 'access_denied';
  description: string;
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

  constructor(
    readonly auth: AuthContext,
    private readonly sources: () => ScopeSource[],
  ) {}

  get issuer(): string {
    return this.auth.origin;
  }

  catalog(): ScopeCatalog {
    return new ScopeCatalog(this.sources());
  }

  /**
   * Checks a `resource` (RFC 8707): an absolute URL on one of the hub's
   * origins whose path is the hub itself or lies under a module mount.
   * The exact value protected-resource metadata advertises always passes.
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
    if (url.pathname === '/' || url.pathname === '') return { url: raw, info: null };
    const info = catalog.resourceForPath(url.pathname);
    if (!info) return targetProblem(`no installed module is mounted at ${url.pathname}`);
    return { url: raw, info };
  }

  /**
   * Validates requested scopes before anything is issued (auth.md section
   * 4): unknown scopes, the hub's own, scopes of another resource, and
   * scopes the user cannot hold are refused. With no scope, a resource's
   * read and write scopes are the default.
   */
  checkScopes(
    catalog: ScopeCatalog,
    requested: string[],
    resource: ResolvedResource | null,
    user: User | null,
  ): { scopes: string[]; vaultVerbs: string[] } | OAuthProblem {
    let wanted = requested;
    if (wanted.length === 0) {
      wanted = resource?.info ? catalog.offered(resource.info.scopes) : [];
      if (wanted.length === 0) {
        return scopeProblem('Say which scopes the app needs (the scope parameter is empty).');
      }
    }
    const scopes: string[] = [];
    const vaultVerbs: string[] = [];
    for (const scope of new Set(wanted)) {
      if (ScopeCatalog.isHubOnly(scope)) {
        return scopeProblem(`${scope} belongs to the hub's operator and cannot be granted to apps`);
      }
      const broad = ScopeCatalog.broadVaultVerb(scope);
      if (broad && catalog.vaults.length > 0) {
        if (broad === 'admin' && user && user.role !== 'admin') {
          return scopeProblem(`only admins can grant ${scope}`);
        }
        vaultVerbs.push(broad);
        continue;
      }
      const info = catalog.scopes.get(scope);
      if (!info) return scopeProblem(`${scope} is not a scope of any installed module`);
      if (resource?.info && info.audience !== resource.info.audience) {
        return targetProblem(`${scope} is not a scope of the resource ${resource.url}`);
      }
      if (user && user.role !== 'admin') {
        if (info.adminVerb) return scopeProblem(`only admins can grant ${scope}`);
        const vault = info.audience.startsWith('vault.') ? info.audience.slice(6) : null;
        if (vault && !this.vaultsOf(user).includes(vault)) {
          return scopeProblem(`${scope}: the vault ${vault} is not assigned to you`);
        }
      }
      scopes.push(scope);
    }
    if (vaultVerbs.length > 0 && resource?.info && !resource.info.audience.startsWith('vault.')) {
      return targetProblem(`vault scopes are not scopes of the resource ${resource.url}`);
    }
    return { scopes, vaultVerbs };
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
    const audiences = new Set(scopes.map((s) => catalog.scopes.get(s)?.audience ?? 'hub'));
    const name = fromResource ?? (audiences.size === 1 ? ([...audiences][0] as string) : 'hub');
    return resource ? [name, resource] : name;
  }
}

export function isProblem(value: object): value is OAuthProblem {
  return 'error' in value;
}

function scopeProblem(description: string): OAuthProblem {
  return { error: 'invalid_scope', description };
}

function targetProblem(description: string): OAuthProblem {
  return { error: 'invalid_target', description };
}
