/**
 * The hub's pages outside the SPA that send signed-out users to sign in and
 * back: OAuth's authorize endpoint, and the one that signs a module's own
 * origin in (src/auth/module-session-routes.ts).
 */
const HUB_PAGES = ['/oauth/authorize', '/api/module-session/authorize'];

/**
 * Where to go after signing in. `next` comes from the URL, so anyone can
 * craft it: only a path on this origin under /admin, or one of HUB_PAGES,
 * is followed, never an absolute or protocol-relative URL (that would be an
 * open redirect).
 */
export function safeNext(next: string | undefined): string {
  const fallback = '/admin/';
  if (!next?.startsWith('/') || next.startsWith('//') || next.includes('\\')) {
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(next, location.origin);
  } catch {
    return fallback;
  }
  // The resolved path is what the browser would load ("/admin/../x" is "/x").
  if (url.origin !== location.origin) return fallback;
  const admin = url.pathname === '/admin' || url.pathname.startsWith('/admin/');
  if (!admin && !HUB_PAGES.includes(url.pathname)) return fallback;
  return url.pathname + url.search + url.hash;
}

/** True for a `safeNext` answer the SPA cannot render itself: it needs a full page load. */
export function leavesSpa(path: string): boolean {
  return HUB_PAGES.includes(new URL(path, location.origin).pathname);
}

/** The sign-in page, coming back to where the user is now. */
export function loginUrlForHere(): string {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}
