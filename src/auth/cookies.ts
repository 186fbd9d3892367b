import { SESSION_IDLE_MS } from './sessions.ts';

export const SESSION_COOKIE = 'parachute_session';
// Readable by the SPA (not HttpOnly): it echoes it in X-CSRF-Token (double submit).
export const CSRF_COOKIE = 'parachute_csrf';
export const CSRF_HEADER = 'x-csrf-token';

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

/** Set-Cookie values that start a session (auth.md section 6 flags). */
export function sessionCookies(token: string, csrfToken: string, secure: boolean): string[] {
  const common = `Path=/; SameSite=Lax; Max-Age=${SESSION_IDLE_MS / 1000}${secure ? '; Secure' : ''}`;
  return [
    `${SESSION_COOKIE}=${token}; HttpOnly; ${common}`,
    `${CSRF_COOKIE}=${csrfToken}; ${common}`,
  ];
}

/** Set-Cookie values that remove both cookies. */
export function clearedCookies(secure: boolean): string[] {
  const common = `Path=/; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
  return [`${SESSION_COOKIE}=; HttpOnly; ${common}`, `${CSRF_COOKIE}=; ${common}`];
}
