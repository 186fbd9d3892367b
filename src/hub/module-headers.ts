import { HUB_COOKIE_NAMES } from '../auth/cookies.ts';
import type { Mount } from '../modules/mounts.ts';
import { log } from '../platform/log.ts';

// What a module's page may do to the hub in the browser (modules.md section
// 7, README "Threat model"). These rules hold in every isolation mode; they
// apply to every answer a module gives through the proxy.

/**
 * Response headers a module never gets to the browser:
 * - `Service-Worker-Allowed` widens a worker's scope past the folder of its
 *   script; on the hub's origin, `/` let a module's worker answer `/admin`
 *   and `/login` from then on. The hub sends its own instead (below).
 * - `Clear-Site-Data` acts on the whole origin: from a module it signed
 *   everyone out of the hub and wiped the admin UI's storage.
 */
const FORBIDDEN_RESPONSE_HEADERS = ['service-worker-allowed', 'clear-site-data'];

/**
 * The CSP for an isolated module's documents: `sandbox` without
 * `allow-same-origin` gives them an opaque origin, so script in them cannot
 * read the hub's cookies, send them, use the origin's storage or register a
 * service worker. Everything a page needs that is not the origin stays
 * allowed: scripts, forms, popups (sandboxed too), dialogs, downloads.
 */
export const SANDBOX_CSP =
  'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

/**
 * Edits a module's response headers in place: drops the forbidden headers
 * and any Set-Cookie for the hub's own cookies, caps any service worker at
 * the mount, and with `sandbox` adds the sandbox CSP (an extra policy, so
 * the module's own CSP still applies too). The mount's row name names the
 * module in the log, once per kind of header.
 */
export function applyModuleHeaderRules(
  headers: Headers,
  mount: Pick<Mount, 'name' | 'prefix'>,
  sandbox: boolean,
): void {
  const module = mount.name;
  for (const name of FORBIDDEN_RESPONSE_HEADERS) {
    if (!headers.has(name)) continue;
    headers.delete(name);
    warnOnce(module, name, `sent ${name}; the hub drops it from modules' answers`);
  }
  // Without the header a worker may cover the folder of its script, and the
  // mount path itself (`/vault`, a script the module may serve) is in the
  // folder `/`: registered with scope `/`, it answered /admin and /login.
  // The hub's own value caps every worker at the mount (Service Workers
  // section 4.4.1, "max scope"). Browsers run a worker only from a script
  // served with a JavaScript MIME type (every one of which names `script`),
  // so only those answers need it, not every page and image.
  if (mayBeScript(headers.get('content-type'))) {
    headers.set('service-worker-allowed', `${mount.prefix}/`);
  }
  if (headers.has('set-cookie')) dropHubSetCookies(headers, module);
  if (sandbox) headers.append('content-security-policy', SANDBOX_CSP);
}

/**
 * True unless the Content-Type is one no browser runs as a worker script: a
 * JavaScript MIME type (javascript, ecmascript, jscript, livescript, any
 * case, with parameters) always contains `script`, so a broader match is
 * only ever stricter.
 */
function mayBeScript(contentType: string | null): boolean {
  return contentType !== null && SCRIPT.test(contentType);
}
const SCRIPT = /script/i;

/**
 * Drops a module's Set-Cookie for the hub's cookies: one could sign its
 * visitors in as someone else (session fixation), sign them out, or replace
 * the CSRF token. Page scripts cannot overwrite the HttpOnly session
 * cookie, but a response header can.
 */
function dropHubSetCookies(headers: Headers, module: string): void {
  const all = headers.getSetCookie();
  const kept = all.filter((cookie) => !isHubSetCookie(cookie));
  if (kept.length === all.length) return;
  headers.delete('set-cookie');
  for (const cookie of kept) headers.append('set-cookie', cookie);
  warnOnce(module, 'set-cookie', "tried to set one of the hub's cookies; the hub drops those");
}

/**
 * True when a Set-Cookie would set one of the hub's cookies: its name is
 * one (trimmed, as browsers do), or it has no name and its value starts
 * with one. Browsers keep a nameless cookie and send it as its bare value,
 * so `=parachute_session=x` reaches the hub as `parachute_session=x`.
 */
export function isHubSetCookie(setCookie: string): boolean {
  const semicolon = setCookie.indexOf(';');
  let pair = (semicolon === -1 ? setCookie : setCookie.slice(0, semicolon)).trim();
  if (pair.startsWith('=')) pair = pair.slice(1).trim();
  const eq = pair.indexOf('=');
  const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
  return HUB_COOKIE_NAMES.includes(name);
}

/**
 * The Cookie header a module receives: the hub's cookies taken out (''
 * when nothing is left). Every browser request to a module on the hub's
 * origin carries them, so this runs on most proxied requests: one regex
 * pass, about a third of what splitting the header into pairs cost. Headers
 * without them are passed as they are.
 */
export function withoutHubCookies(cookie: string): string {
  if (!cookie.includes('parachute_')) return cookie;
  return cookie.replace(HUB_COOKIE_PAIRS, '').replace(EDGE_SEPARATORS, '');
}

// A hub cookie pair (`name=value`, or a bare name) with the separator before it.
const HUB_COOKIE_PAIRS = new RegExp(
  `(?:^|;)[ \\t]*(?:${HUB_COOKIE_NAMES.join('|')})(?:=[^;]*)?(?=;|$)`,
  'g',
);
const EDGE_SEPARATORS = /^[; \t]+|[; \t]+$/g;

/** `module kind` pairs already reported: a module that sends one on every answer would flood the log. */
const warned = new Set<string>();

function warnOnce(module: string, kind: string, what: string): void {
  const key = `${module} ${kind}`;
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(`${module} ${what} (this is said once)`);
}
