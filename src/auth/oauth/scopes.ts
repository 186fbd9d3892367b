// What OAuth clients may ask for (auth.md section 5): the scopes installed
// modules define, `vault:<name>:<verb>` for each vault mount, and the
// resources (module mounts) tokens are minted for.

/** What the catalog needs to know about one installed module. */
export interface ScopeSource {
  /** Short name from module.json (`vault`), else the services.json row name. */
  module: string;
  displayName: string;
  /** services.json `version`; token answers name it with the module's URL. */
  version?: string;
  paths: string[];
  /** module.json `scopes.defines`. */
  defines: string[];
}

export interface ScopeInfo {
  scope: string;
  /** Plain words for the consent page. */
  description: string;
  module: string;
  /** The `aud` a token carrying this scope is for. */
  audience: string;
  /** `admin` verbs: only admin users can grant them. */
  adminVerb: boolean;
}

/** A module mount as an OAuth protected resource (RFC 9728). */
export interface ResourceInfo {
  /** Mount path without a trailing slash. */
  path: string;
  module: string;
  audience: string;
  /** Scopes a token for this resource may carry. */
  scopes: string[];
}

const VERBS = ['read', 'write', 'admin'] as const;
const VAULT_MOUNT = /^\/vault\/([A-Za-z0-9._~-]+)\/?$/;
const BROAD_VAULT = /^vault:(read|write|admin)$/;
/** The hub's own scopes: for the operator and the admin UI, never granted through OAuth. */
const HUB_ONLY = /^(parachute:host:.+|hub:admin)$/;

/** Installed modules' scopes and mounts, rebuilt per request (modules come and go). */
export class ScopeCatalog {
  readonly scopes = new Map<string, ScopeInfo>();
  /** Longest path first, so the most specific mount wins. */
  readonly resources: ResourceInfo[] = [];
  readonly vaults: string[] = [];

  constructor(sources: ScopeSource[]) {
    for (const source of sources) this.add(source);
    this.resources.sort((a, b) => b.path.length - a.path.length);
  }

  /**
   * scopes_supported: what apps are offered. Never the hub's own scopes,
   * never `admin` verbs (admins can still grant those when asked), never
   * the broad vault form (it is narrowed on the consent page).
   */
  get supported(): string[] {
    return this.offered([...this.scopes.keys()]).sort();
  }

  /** `scopes` without admin verbs. */
  offered(scopes: string[]): string[] {
    return scopes.filter((s) => this.scopes.get(s)?.adminVerb === false);
  }

  /** The broad `vault:<verb>` form, answered by letting the user pick vaults. */
  static broadVaultVerb(scope: string): string | null {
    return BROAD_VAULT.exec(scope)?.[1] ?? null;
  }

  static isHubOnly(scope: string): boolean {
    return HUB_ONLY.test(scope);
  }

  /** The resource `path` (a URL path on the hub) belongs to, longest mount first. */
  resourceForPath(path: string): ResourceInfo | null {
    const trimmed = path.replace(/\/+$/, '');
    for (const r of this.resources) {
      if (trimmed === r.path || trimmed.startsWith(`${r.path}/`)) return r;
    }
    return null;
  }

  describeBroadVault(verb: string): string {
    return `${verbPhrase(verb)} notes in the vaults you choose`;
  }

  private add(source: ScopeSource): void {
    const vaultVerbs = VERBS.filter((v) => source.defines.includes(`vault:${v}`));
    const ownScopes = source.defines.filter((s) => !BROAD_VAULT.test(s) && !HUB_ONLY.test(s));
    for (const scope of ownScopes) {
      const parts = scope.split(':');
      const verb = parts[parts.length - 1] as string;
      const what =
        parts.length > 2
          ? `${parts.slice(1, -1).join(':')} in ${source.displayName}`
          : `your ${source.displayName} data`;
      const description = VERBS.includes(verb as (typeof VERBS)[number])
        ? `${verbPhrase(verb)} ${what}`
        : // A module's own verb (scribe's `transcribe`): "Transcribe with Scribe".
          `${capitalized(verb.replaceAll('-', ' '))} with ${parts.length > 2 ? what : source.displayName}`;
      this.scopes.set(scope, {
        scope,
        description,
        module: source.module,
        audience: source.module,
        adminVerb: verb === 'admin',
      });
    }
    for (const path of source.paths) {
      const vault = VAULT_MOUNT.exec(path)?.[1];
      if (vault) {
        // A vault module that defines no verbs still gets read and write.
        const verbs = vaultVerbs.length > 0 ? vaultVerbs : (['read', 'write'] as const);
        const scopes = verbs.map((verb) => {
          const scope = `vault:${vault}:${verb}`;
          this.scopes.set(scope, {
            scope,
            description: `${verbPhrase(verb)} notes in the vault “${vault}”`,
            module: source.module,
            audience: `vault.${vault}`,
            adminVerb: verb === 'admin',
          });
          return scope;
        });
        this.vaults.push(vault);
        this.resources.push({
          path: path.replace(/\/+$/, ''),
          module: source.module,
          audience: `vault.${vault}`,
          scopes,
        });
      } else {
        this.resources.push({
          path: path.replace(/\/+$/, '') || '/',
          module: source.module,
          audience: source.module,
          scopes: ownScopes,
        });
      }
    }
  }
}

function verbPhrase(verb: string): string {
  if (verb === 'read') return 'Read';
  if (verb === 'write') return 'Create, change and delete';
  return 'Administer';
}

function capitalized(text: string): string {
  return `${text.slice(0, 1).toUpperCase()}${text.slice(1)}`;
}
