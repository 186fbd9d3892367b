import { moduleOfHost } from '../platform/apps-domain.ts';
import { CSRF_COOKIE, CSRF_HEADER, readCookie } from './cookies.ts';
import { constantTimeEqual, sha256Hex } from './hash.ts';
import type { Session } from './sessions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the CSRF checks need to know about the hub (AuthContext has it all). */
export interface OriginPolicy {
  /** Every origin the hub answers as. */
  origins: string[];
  /** Hosts under it are modules' origins, never the hub's (platform/apps-domain.ts). */
  appsDomain: string | null;
  /** The hub's cookies carry their `__Host-` names. */
  secureCookies: boolean;
}

/** True for methods that change state and therefore need CSRF protection. */
export function isMutation(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/**
 * The request must come from a page of this hub (auth.md section 6), by two
 * independent signals:
 *
 * - Fetch Metadata: browsers send `Sec-Fetch-Site`, and anything but
 *   `same-origin` is refused. A module under the apps domain is `same-site`
 *   with the hub (vault.apps.example.com next to hub.example.com), and
 *   SameSite=Lax cookies do reach the hub from it; Origin alone would be the
 *   only thing standing between such a page and the admin API.
 * - Origin: browsers send it on every cross-origin and same-origin POST;
 *   when it is missing, Referer stands in; with neither, refuse. The
 *   request's own Host is accepted too, so a hub reached by LAN address
 *   still works (an attacker's page cannot make a browser send a Host it
 *   does not own), except a Host under the apps domain: that is a module's
 *   origin, whose pages are exactly who must not pass.
 */
export function sameOriginRequest(request: Request, hub: OriginPolicy): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin') return false;
  const claimed = request.headers.get('origin') ?? originOf(request.headers.get('referer'));
  if (!claimed || claimed === 'null') return false;
  if (hub.origins.includes(claimed)) return true;
  const host = request.headers.get('host');
  if (host === null || moduleOfHost(host, hub.appsDomain) !== null) return false;
  return originOf(claimed)?.split('://')[1] === host;
}

/**
 * Double-submit check for a cookie-authenticated mutation: the header must
 * equal the cookie and be the token minted with this session.
 */
export function csrfProblem(request: Request, session: Session, hub: OriginPolicy): string | null {
  if (!sameOriginRequest(request, hub)) return 'the request did not come from a page of this hub';
  const header = request.headers.get(CSRF_HEADER);
  const cookie = readCookie(request, CSRF_COOKIE, hub.secureCookies);
  if (!header) return `missing ${CSRF_HEADER} header`;
  if (!cookie || !constantTimeEqual(header, cookie))
    return `${CSRF_HEADER} does not match the ${CSRF_COOKIE} cookie`;
  if (!constantTimeEqual(sha256Hex(header), session.csrf_hash))
    return 'CSRF token does not belong to this session';
  return null;
}

function originOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
