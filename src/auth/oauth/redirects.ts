// Redirect URIs of registered clients (auth.md section 4, RFC 8252).

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Schemes that are not an app's own: script and document schemes a browser
 * would run or show in place, and web or mail schemes that lead elsewhere.
 * A private-use scheme (RFC 8252 section 7.1) is anything else.
 */
const NOT_PRIVATE_USE = new Set([
  'javascript:',
  'vbscript:',
  'data:',
  'blob:',
  'file:',
  'filesystem:',
  'about:',
  'view-source:',
  'ftp:',
  'ws:',
  'wss:',
  'mailto:',
  'tel:',
  'sms:',
  'urn:',
  'jar:',
]);

/**
 * Why `uri` cannot be registered as a redirect URI, or null if it can
 * (auth.md section 4): https; http on loopback; a native app's private-use
 * scheme (`cursor://…`, `com.example.app:/cb`). Never a fragment or credentials.
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URL`;
  }
  if (url.hash || uri.includes('#')) return `${uri} must not contain a fragment`;
  if (url.username || url.password) return `${uri} must not contain credentials`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    if (LOOPBACK_HOSTS.has(url.hostname)) return null;
    return `${uri} uses http on a host other than localhost, 127.0.0.1 or [::1]; use https`;
  }
  if (NOT_PRIVATE_USE.has(url.protocol)) {
    return `${uri} uses the ${url.protocol} scheme; use https, http on loopback, or an app's own scheme`;
  }
  return null;
}

/** How the consent page names where a redirect goes: its host, or an app scheme's name. */
export function redirectHost(uri: string): string {
  const url = new URL(uri);
  return url.host || url.protocol;
}

/** Whether `uri` leads back to the user's own machine (http on a loopback host). */
export function isLoopbackRedirect(uri: string): boolean {
  const url = URL.parse(uri);
  return url !== null && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The registered URI that `requested` matches, or null. Loopback redirects
 * match with any port, because native apps get a port from the OS when they
 * start (RFC 8252 section 7.3); everything else must match exactly.
 */
export function matchRedirectUri(registered: string[], requested: string): string | null {
  if (registered.includes(requested)) return requested;
  let want: URL;
  try {
    want = new URL(requested);
  } catch {
    return null;
  }
  if (want.protocol !== 'http:' || !LOOPBACK_HOSTS.has(want.hostname) || want.hash) return null;
  for (const uri of registered) {
    const have = new URL(uri);
    if (
      have.protocol === 'http:' &&
      have.hostname === want.hostname &&
      have.pathname === want.pathname &&
      have.search === want.search
    ) {
      return uri;
    }
  }
  return null;
}
