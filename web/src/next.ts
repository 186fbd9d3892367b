/**
 * Where to go after signing in. `next` comes from the URL, so anyone can
 * craft it: only a path on this origin is followed (the admin UI, OAuth's
 * authorize page, a module's hosted UI that sent a signed-out visitor
 * here), never an absolute or protocol-relative URL (that would be an open
 * redirect), and never the sign-in page itself.
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
  if (url.pathname === '/login') return fallback;
  return url.pathname + url.search + url.hash;
}

/** True for a `safeNext` answer the SPA cannot render itself (anything outside /admin): it needs a full page load. */
export function leavesSpa(path: string): boolean {
  const { pathname } = new URL(path, location.origin);
  return pathname !== '/admin' && !pathname.startsWith('/admin/');
}

/** The sign-in page, coming back to where the user is now. */
export function loginUrlForHere(): string {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}
