import { CSRF_COOKIE, CSRF_HEADER, parseCookies } from './cookies.ts';
import { constantTimeEqual, sha256Hex } from './hash.ts';
import type { Session } from './sessions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for methods that change state and therefore need CSRF protection. */
export function isMutation(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/**
 * Origin check (auth.md section 6): the request must come from a page of
 * this hub. Browsers send Origin on every cross-site and same-site POST;
 * when it is missing, Referer stands in; with neither, refuse. The request's
 * own Host is accepted too, so a hub reached by LAN address still works:
 * an attacker's page cannot make a browser send a Host it does not own.
 */
export function sameOriginRequest(request: Request, origins: string[]): boolean {
  const claimed = request.headers.get('origin') ?? originOf(request.headers.get('referer'));
  if (!claimed || claimed === 'null') return false;
  if (origins.includes(claimed)) return true;
  const host = request.headers.get('host');
  return host !== null && originOf(claimed)?.split('://')[1] === host;
}

/**
 * Double-submit check for a cookie-authenticated mutation: the header must
 * equal the cookie and be the token minted with this session.
 */
export function csrfProblem(request: Request, session: Session, origins: string[]): string | null {
  if (!sameOriginRequest(request, origins))
    return 'the request did not come from a page of this hub';
  const header = request.headers.get(CSRF_HEADER);
  const cookie = parseCookies(request.headers.get('cookie')).get(CSRF_COOKIE);
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
