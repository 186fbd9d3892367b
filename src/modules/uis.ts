// Hosted UIs (upstream's `uis` map of a services.json row): pages a module
// serves under its mounts, each with the audience that may open it. The hub
// gates requests under them before forwarding (hub/ui-gate.ts). Modules
// write these rows themselves, so everything here is read leniently: a bad
// entry is left out with a warning, never the whole row (upstream drops the
// row, which made the module unroutable), and whatever gate an entry asks
// for that cannot be understood is read as the strictest one.

export const AUDIENCES = ['public', 'hub-users', 'operator', 'surface'] as const;
export type Audience = (typeof AUDIENCES)[number];

export const UI_STATUSES = ['active', 'pending', 'inactive', 'failing'] as const;
export type UiStatus = (typeof UI_STATUSES)[number];
const STATUS_ALIASES: Record<string, UiStatus> = {
  'pending-oauth': 'pending',
  disabled: 'inactive',
};

/** One hosted UI as the hub understood it. */
export interface HostedUi {
  slug: string;
  displayName: string;
  /** Without a trailing slash. */
  path: string;
  status: UiStatus;
  audience: Audience;
  /** Scope patterns a bearer token must satisfy, every one (hub-users only). */
  scopesRequired: string[];
  tagline?: string;
  iconUrl?: string;
  version?: string;
  oauthClientId?: string;
}

/** What the proxy checks for one hosted UI (mounts.ts carries these per mount). */
export interface UiGate {
  /** The UI's path as gatePath() writes request paths: lowercase, no trailing slash. */
  prefix: string;
  slug: string;
  displayName: string;
  audience: Audience;
  scopesRequired: string[];
}

/** More hosted UIs than a row may list: each is a prefix compare on every gated request. */
const MAX_UIS = 100;

// The characters of a mount path (schema.ts), without `//` or `..`.
const UI_PATH = /^\/[A-Za-z0-9._~\-/]*$/;

/**
 * The hosted UIs of a row, and a warning for each thing in its `uis` that
 * was left out or read strictly. `paths` are the mounts the row is served
 * on (served-rows.ts): a UI outside them is ignored, so no row gates
 * another module's paths.
 */
export function readUis(
  rowName: string,
  uis: unknown,
  paths: string[],
): { uis: HostedUi[]; problems: string[] } {
  const problems: string[] = [];
  const found: HostedUi[] = [];
  if (uis === undefined) return { uis: found, problems };
  const where = `services.json row "${rowName}"`;
  if (!isObject(uis)) {
    problems.push(`${where}: uis must be an object of hosted UIs; ignored`);
    return { uis: found, problems };
  }
  const mounts = paths.map(withoutTrailingSlash);
  const entries = Object.entries(uis);
  if (entries.length > MAX_UIS) {
    problems.push(
      `${where}: uis has ${entries.length} entries; only the first ${MAX_UIS} are read`,
    );
  }
  for (const [slug, entry] of entries.slice(0, MAX_UIS)) {
    // A module chooses the slug: quoted unless plain, so it cannot forge log lines.
    const at = `${where}: uis.${/^[\w.-]{1,64}$/.test(slug) ? slug : JSON.stringify(slug.slice(0, 64))}`;
    if (!isObject(entry)) {
      problems.push(`${at} is not an object; ignored`);
      continue;
    }
    const { displayName, path } = entry;
    if (typeof displayName !== 'string' || displayName === '') {
      problems.push(`${at}: displayName must be a non-empty string; ignored`);
      continue;
    }
    if (
      typeof path !== 'string' ||
      !UI_PATH.test(path) ||
      path.includes('//') ||
      path.split('/').includes('..')
    ) {
      problems.push(
        `${at}: path must start with / and hold only URL path characters, without // or ..; ignored`,
      );
      continue;
    }
    const own = withoutTrailingSlash(path);
    if (!mounts.some((m) => own === m || own.startsWith(`${m}/`))) {
      problems.push(
        `${at}: path ${path} is outside this row's mounts (${paths.join(', ') || 'none'}); not gated`,
      );
      continue;
    }
    const ui: HostedUi = {
      slug,
      displayName,
      path: own,
      status: readStatus(entry.status, at, problems),
      ...readGate(entry, at, problems),
    };
    for (const key of ['tagline', 'iconUrl', 'version', 'oauthClientId'] as const) {
      const value = entry[key];
      if (typeof value === 'string') ui[key] = value;
    }
    found.push(ui);
  }
  return { uis: found, problems };
}

/**
 * The gates of the UIs under one mount, longest path first, or null when
 * none of them needs anything (public and surface UIs pass): then the
 * proxy does no work for this mount at all.
 */
export function gatesUnder(prefix: string, uis: HostedUi[]): UiGate[] | null {
  const under = uis.filter(
    (ui) => prefix === '/' || ui.path === prefix || ui.path.startsWith(`${prefix}/`),
  );
  if (!under.some((ui) => ui.audience === 'hub-users' || ui.audience === 'operator')) return null;
  return under
    .map((ui) => ({
      prefix: ui.path.toLowerCase(),
      slug: ui.slug,
      displayName: ui.displayName,
      audience: ui.audience,
      scopesRequired: ui.scopesRequired,
    }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The gate of the UI a request path (as gatePath() writes it) is under, or null. */
export function gateOf(gates: UiGate[], path: string): UiGate | null {
  for (const gate of gates) {
    const n = gate.prefix.length;
    if (path.startsWith(gate.prefix) && (path.length === n || path.charCodeAt(n) === 47)) {
      return gate;
    }
  }
  return null;
}

/**
 * A request path as a module might read it, for matching against UI paths:
 * percent-decoded, backslashes and repeated slashes as one `/`, dot segments
 * resolved, lowercase. Frameworks differ on each of these (Express matches
 * case-insensitively, some decode before routing), so the gate matches the
 * widest reading: `/ops/%2e%2e/x`, `//OPS` and `/pub/..%2Fops` cannot walk
 * around a gate. Gating a little more than asked is the safe side.
 */
export function gatePath(path: string): string {
  let p = path;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // Malformed escapes: the module cannot decode them either.
    }
  }
  // A decoded `?` or `#` is part of the path, not a query or fragment.
  p = p.replace(/[\\/]+/g, '/').replace(/[?#]/g, encodeURIComponent);
  if (p.includes('.')) p = new URL(p, 'http://gate.invalid').pathname;
  return p.toLowerCase();
}

function readStatus(value: unknown, at: string, problems: string[]): UiStatus {
  if (value === undefined) return 'active';
  if (typeof value === 'string') {
    if ((UI_STATUSES as readonly string[]).includes(value)) return value as UiStatus;
    const alias = STATUS_ALIASES[value];
    if (alias) return alias;
  }
  problems.push(
    `${at}: status ${JSON.stringify(value)} is not one of ${UI_STATUSES.join(', ')}; shown as inactive`,
  );
  return 'inactive';
}

/** Audience and scopes; anything not understood fails closed as `operator` (admins only). */
function readGate(
  entry: Record<string, unknown>,
  at: string,
  problems: string[],
): { audience: Audience; scopesRequired: string[] } {
  const strict = { audience: 'operator' as const, scopesRequired: [] };
  const { audience = 'hub-users', scopes_required: scopes = [] } = entry;
  if (typeof audience !== 'string' || !(AUDIENCES as readonly string[]).includes(audience)) {
    problems.push(
      `${at}: audience ${JSON.stringify(audience)} is not one of ${AUDIENCES.join(', ')}; only admins may open it`,
    );
    return strict;
  }
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && s !== '')) {
    problems.push(`${at}: scopes_required must be a list of scope names; only admins may open it`);
    return strict;
  }
  return { audience: audience as Audience, scopesRequired: scopes };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutTrailingSlash(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}
