import { SESSION_IDLE_MS } from './sessions.ts';

export const SESSION_COOKIE = 'parachute_session';
// Readable by the SPA (not HttpOnly): it echoes it in X-CSRF-Token (double submit).
export const CSRF_COOKIE = 'parachute_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** A module origin's own session, for that module alone (auth/module-sessions.ts). */
export const MODULE_SESSION_COOKIE = 'parachute_module_session';
/** Binds a module origin's sign-in to the browser that started it (OAuth `state` style). */
export const MODULE_STATE_COOKIE = 'parachute_module_state';

const BASE_NAMES = [SESSION_COOKIE, CSRF_COOKIE, MODULE_SESSION_COOKIE, MODULE_STATE_COOKIE];

/**
 * Every name a hub cookie can have on the wire, in both forms: modules never
 * receive these and may never set them (hub/module-headers.ts).
 */
export const HUB_COOKIE_NAMES: readonly string[] = [
  ...BASE_NAMES,
  ...BASE_NAMES.map((name) => `__Host-${name}`),
];

/**
 * A hub cookie's name on the wire. Over https it carries the `__Host-`
 * prefix (RFC 6265bis section 4.1.3.2): the browser then only accepts it
 * Secure, with Path=/ and without Domain, so a page on a sibling host (a
 * module under the apps domain) cannot plant one for the hub with
 * `Domain=example.com`. Browsers refuse the prefix over plain http, so
 * there the plain name is used.
 */
export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

/** Cookie header → name/value map (first occurrence wins, like browsers send them). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The value of the hub cookie `base` (in its form for this scheme), if the request carries it. */
export function readCookie(request: Request, base: string, secure: boolean): string | undefined {
  return parseCookies(request.headers.get('cookie')).get(cookieName(base, secure));
}

/** Set-Cookie values that start a session (auth.md section 6 flags). */
export function sessionCookies(token: string, csrfToken: string, secure: boolean): string[] {
  const common = `Path=/; SameSite=Lax; Max-Age=${SESSION_IDLE_MS / 1000}${secure ? '; Secure' : ''}`;
  return [
    `${cookieName(SESSION_COOKIE, secure)}=${token}; HttpOnly; ${common}`,
    `${cookieName(CSRF_COOKIE, secure)}=${csrfToken}; ${common}`,
  ];
}

/** Set-Cookie values that remove both cookies. */
export function clearedCookies(secure: boolean): string[] {
  const common = `Path=/; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
  return [
    `${cookieName(SESSION_COOKIE, secure)}=; HttpOnly; ${common}`,
    `${cookieName(CSRF_COOKIE, secure)}=; ${common}`,
  ];
}

/**
 * One HttpOnly, host-only (no Domain) cookie: `maxAgeSeconds` 0 removes it.
 * Host-only keeps a module origin's session on that one host.
 */
export function hostCookie(base: string, value: string, maxAgeSeconds: number, secure: boolean) {
  return `${cookieName(base, secure)}=${value}; HttpOnly; Path=/; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
