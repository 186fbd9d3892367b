import type { ScopeCatalog, ScopeSource } from './scopes.ts';
import { vaultOfScope } from './tokens.ts';

/** Where a granted module answers, as upstream's token answers name it. */
export interface ServiceLink {
  url: string;
  version?: string;
}

/** The extras upstream's token endpoint adds to a token answer. */
export interface TokenServices {
  /**
   * Per module one of whose scopes was granted, keyed by its short name:
   * its first mount. For vault scopes, `vault:<name>` per granted vault and
   * `vault` for the first one. Clients such as notes-ui take the vault's
   * URL from here (`services["vault:" + vault] ?? services.vault`).
   */
  services: Record<string, ServiceLink>;
  /** The vault's name, when the granted scopes name exactly one. */
  vault?: string;
}

/** What the token answer for `scopes` carries beside the tokens (upstream-hub-contract section 12). */
export function tokenServices(
  catalog: ScopeCatalog,
  sources: ScopeSource[],
  origin: string,
  scopes: string[],
): TokenServices {
  const services = new Map<string, ServiceLink>();
  const link = (source: ScopeSource, path: string): ServiceLink => ({
    url: `${origin}${path.replace(/\/+$/, '')}`,
    ...(source.version ? { version: source.version } : {}),
  });
  const vaults = [...new Set(scopes.flatMap((s) => vaultOfScope(s) ?? []))];
  for (const vault of vaults) {
    const path = `/vault/${vault}`;
    const source = sources.find((s) => s.paths.some((p) => p.replace(/\/+$/, '') === path));
    if (!source) continue; // the vault went away since the grant
    services.set(`vault:${vault}`, link(source, path));
    if (!services.has('vault')) services.set('vault', link(source, path));
  }
  for (const scope of scopes) {
    if (vaultOfScope(scope)) continue;
    const module = catalog.scopes.get(scope)?.module;
    const source = module ? sources.find((s) => s.module === module) : undefined;
    const first = source?.paths[0];
    if (!module || !source || !first || services.has(module)) continue;
    services.set(module, link(source, first));
  }
  return {
    // fromEntries defines own properties: no key can reach a prototype.
    services: Object.fromEntries(services),
    ...(vaults.length === 1 ? { vault: vaults[0] } : {}),
  };
}
