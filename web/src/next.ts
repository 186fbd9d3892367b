/**
 * Where to go after signing in. `next` comes from the URL, so anyone can
 * craft it: only a path on this origin under /admin is followed, never an
 * absolute or protocol-relative URL (that would be an open redirect).
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
  if (url.pathname !== '/admin' && !url.pathname.startsWith('/admin/')) return fallback;
  return url.pathname + url.search + url.hash;
}

/** The sign-in page, coming back to where the user is now. */
export function loginUrlForHere(): string {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}
