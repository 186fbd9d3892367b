import { moduleOrigin } from '../platform/apps-domain.ts';
import { log } from '../platform/log.ts';

// Where a module's UI lives (upstream's module-ui-declaration rules): one
// rule set for module.json `uiUrl`, `managementUrl` and `configUiUrl`,
// decided by the form of the value (schema.ts refuses every other form):
//   `https://x/y`  an absolute http(s) URL, kept verbatim;
//   `/x`           a path from the hub's origin, never mount-prefixed;
//   `x/`, `./`     relative: joined onto the module's mount, and for a
//                  vault-like module (mounts `/vault/<name>`) onto each
//                  vault's mount, so every vault gets its own link.
// Discovery, the `/` page and the admin API all use this one resolver.

export const UI_LINK_FIELDS = ['uiUrl', 'managementUrl', 'configUiUrl'] as const;
export type UiLinkField = (typeof UI_LINK_FIELDS)[number];
/** The three links as module.json declares them. */
export type UiDeclaration = Partial<Record<UiLinkField, string>>;

/** What the resolver needs to know of a module. */
export interface UiSource {
  /** Short name (module.json `name`): its host under the apps domain. */
  module: string;
  /** Mount paths, as served. */
  paths: string[];
  declared: UiDeclaration;
}

/** Where links point: the hub's origin, and the apps domain when it is in force. */
export interface LinkContext {
  origin: string;
  appsDomain: string | null;
}

/** One place a module's UI lives, with its links resolved to absolute URLs (only those declared). */
export interface UiInstance extends UiDeclaration {
  /** The mount relative links were joined onto; null for a module without mounts. */
  path: string | null;
  /** The vault's name, for a vault mount. */
  vault: string | null;
}

const VAULT_MOUNT = /^\/vault\/([A-Za-z0-9._~-]+)\/?$/;

/** The vault a `/vault/<name>` mount serves, or null. */
export function vaultOfMount(path: string): string | null {
  return VAULT_MOUNT.exec(path)?.[1] ?? null;
}

/**
 * A module's UI instances: one per vault mount for a vault-like module,
 * else one for its first mount (or none, when it has no mount). Empty when
 * it declares no link, so callers show nothing for it.
 */
export function resolveUiLinks(source: UiSource, ctx: LinkContext): UiInstance[] {
  if (!UI_LINK_FIELDS.some((f) => source.declared[f] !== undefined)) return [];
  const vaultMounts = source.paths.filter((p) => vaultOfMount(p) !== null);
  const mounts: (string | null)[] = vaultMounts.length > 0 ? vaultMounts : source.paths.slice(0, 1);
  if (mounts.length === 0) mounts.push(null);
  return mounts.map((mount) => {
    const instance: UiInstance = { path: mount, vault: mount ? vaultOfMount(mount) : null };
    for (const field of UI_LINK_FIELDS) {
      const value = source.declared[field];
      const url = value === undefined ? null : resolveOne(source, field, value, mount, ctx);
      if (url) instance[field] = url;
    }
    return instance;
  });
}

/** Modules already warned about the `/admin` compatibility rule (once per hub run, not per request). */
const warnedLegacyAdmin = new Set<string>();

function resolveOne(
  source: UiSource,
  field: UiLinkField,
  value: string,
  mount: string | null,
  ctx: LinkContext,
): string | null {
  if (/^https?:\/\//.test(value)) return value;
  let path: string;
  if (value.startsWith('/')) {
    path = value;
    // Upstream vault ships `managementUrl: "/admin"`, meaning each vault's
    // own admin page; upstream still joins it per vault, with a warning.
    if (mount && vaultOfMount(mount) && (value === '/admin' || value === '/admin/')) {
      path = joinMount(mount, value.slice(1));
      if (!warnedLegacyAdmin.has(source.module)) {
        warnedLegacyAdmin.add(source.module);
        log.warn(
          `${source.module}: ${field} "${value}" is joined onto each vault's mount for compatibility (deprecated); declare "${value.slice(1)}" (relative) instead`,
        );
      }
    }
  } else {
    if (!mount) return null; // relative to nothing
    path = joinMount(mount, value);
  }
  return originFor(source, path, ctx) + path;
}

/** `mount` + `/` + the relative value, without its leading `./`; the value's trailing slash is kept. */
function joinMount(mount: string, relative: string): string {
  return `${mount.replace(/\/+$/, '')}/${relative.replace(/^\.(\/|$)/, '')}`;
}

/**
 * With an apps domain, a path under one of the module's own mounts is on
 * the module's own origin (the hub's origin would only redirect there);
 * any other path is the hub's or another module's, so stays on the hub's.
 */
function originFor(source: UiSource, path: string, ctx: LinkContext): string {
  if (!ctx.appsDomain || !/^[a-z][a-z0-9-]{0,62}$/.test(source.module)) return ctx.origin;
  const pathname = path.replace(/[?#].*$/, '');
  const own = source.paths.some((p) => {
    const prefix = p.replace(/\/+$/, '');
    return pathname === prefix || pathname.startsWith(`${prefix}/`);
  });
  return own ? moduleOrigin(source.module, ctx.appsDomain, ctx.origin) : ctx.origin;
}

/** The UI instances of a module as the manager lists it (ModuleView). */
export function linksOf(
  view: { name: string; module: string | null; paths: string[]; ui: UiDeclaration },
  ctx: LinkContext,
): UiInstance[] {
  return resolveUiLinks(
    { module: view.module ?? view.name, paths: view.paths, declared: view.ui },
    ctx,
  );
}
