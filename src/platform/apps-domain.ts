import { OperatorError } from './operator-error.ts';

/**
 * The apps domain (modules.md section 7). With one set, say
 * `apps.example.com`, module `vault` is served on its own origin
 * `https://vault.apps.example.com` (the hub's scheme and port, its mount
 * paths kept), so a module's page is cross-origin to the hub's admin UI and
 * to every other module. The operator points the wildcard name
 * `*.apps.example.com` at the hub (DNS, and a wildcard certificate at the
 * TLS terminator).
 */
export interface ResolvedAppsDomain {
  /** Lowercase DNS name without `*.`, or null: modules share the hub's origin. */
  domain: string | null;
  source: 'settings' | 'PARACHUTE_APPS_DOMAIN' | null;
}

type Env = Record<string, string | undefined>;

/** The saved setting, else PARACHUTE_APPS_DOMAIN, else none. A malformed value is an OperatorError. */
export function resolveAppsDomain(saved: string | null, env: Env): ResolvedAppsDomain {
  if (saved)
    return { domain: normalizeAppsDomain(saved, 'the saved apps domain'), source: 'settings' };
  const fromEnv = env.PARACHUTE_APPS_DOMAIN?.trim();
  if (fromEnv) {
    return {
      domain: normalizeAppsDomain(fromEnv, 'PARACHUTE_APPS_DOMAIN'),
      source: 'PARACHUTE_APPS_DOMAIN',
    };
  }
  return { domain: null, source: null };
}

// RFC 1123 labels: letters, digits and inner dashes, at most 63 characters.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `apps.example.com` from `apps.example.com`, `*.apps.example.com` or
 * `Apps.Example.com.`. At least two labels, so a typo like `com` cannot turn
 * every host on a top-level domain into a module.
 */
export function normalizeAppsDomain(raw: string, what: string): string {
  const name = raw.trim().toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
  const labels = name.split('.');
  if (name.length > 200 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new OperatorError(
      `${what} "${raw}" is not a domain name.`,
      'Give the name under which each module gets a host, such as apps.example.com (no scheme, port or path), and point *.apps.example.com at the hub.',
    );
  }
  return name;
}

/**
 * The module a Host header names under the apps domain (`vault` for
 * `vault.apps.example.com:8443`), or null for any other host. This is also
 * how the Host check tells a module's origin from a stranger's: a host for
 * which this is not null is one of the hub's own.
 */
export function moduleOfHost(host: string | null, appsDomain: string | null): string | null {
  if (!host || !appsDomain) return null;
  let name = host.toLowerCase();
  // An IPv6 literal (`[::1]:80`) is never a module's name.
  if (name.startsWith('[')) return null;
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  const suffix = `.${appsDomain}`;
  if (!name.endsWith(suffix)) return null;
  const label = name.slice(0, -suffix.length);
  // One label, and a module short name (modules.md section 1): `a.b.apps...` is no module's.
  return /^[a-z][a-z0-9-]*$/.test(label) ? label : null;
}

/** A module's own origin: the issuer's scheme and port, the module's host under the apps domain. */
export function moduleOrigin(module: string, appsDomain: string, issuer: string): string {
  const url = new URL(issuer);
  return `${url.protocol}//${module}.${appsDomain}${url.port ? `:${url.port}` : ''}`;
}
