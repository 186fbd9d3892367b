import { moduleOfHost } from '../platform/apps-domain.ts';
import { ipv4, ipv6 } from '../platform/ip-address.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { normalizeOrigin, platformOrigin } from '../platform/origin.ts';
import { errorBody } from './error-body.ts';
import { HUB_HEADERS } from './hub-headers.ts';
import { hubPage, wantsPage } from './hub-page.ts';

type Env = Record<string, string | undefined>;

// RFC 9110 section 7.2 `Host = uri-host [ ":" port ]`, narrowed to what a
// browser sends: a DNS name (labels of letters, digits, `-`, `_`, an optional
// final dot) or a bracketed IPv6 literal. One header line only: Bun joins
// repeated Host lines with ", ", which this refuses (RFC 9112 section 3.2).
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)(?::[0-9]{1,5})?$/;
const NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

/**
 * Which `Host` names the hub answers to (modules.md section 7). A page on
 * an attacker's name that later resolves to this machine (DNS rebinding)
 * reaches the hub with the attacker's name in Host; refusing names that
 * are not the hub's keeps such pages away from login and modules.
 *
 * Answered: the issuer origin's name, `PARACHUTE_HUB_ORIGIN`'s, the
 * platform origin's (Fly, Render), `localhost`, every IP literal (a
 * rebinding page always carries a name; platform health checks and LAN
 * visitors use addresses), the names in `PARACHUTE_ALLOWED_HOSTS`, and
 * `<module>.<PARACHUTE_APPS_DOMAIN>`. Ports are not compared: a proxy in
 * front may keep or drop them, and a rebinding page differs by name.
 */
export class HostPolicy {
  private readonly names: Set<string>;
  /** The issuer origin once the hub knows it; it can change while the hub runs. */
  issuer: () => string | null = () => null;
  /**
   * The apps domain in force (the admin's saved value wins over the env, so
   * it can change while the hub runs); until the hub knows it, the env's.
   */
  appsDomain: () => string | null;
  private lastIssuer = '';
  private issuerName = '';
  /** The last Host header allowed, and the issuer and apps domain it was allowed under. */
  private lastAllowed: { header: string | null; issuer: string | null; appsDomain: string | null } =
    { header: null, issuer: null, appsDomain: null };

  constructor(env: Env) {
    this.names = new Set(['localhost', ...allowedHosts(env)]);
    for (const origin of [configuredOrigin(env), platformOriginOrNull(env)]) {
      if (origin) this.names.add(new URL(origin).hostname);
    }
    const fromEnv = appsDomainOf(env);
    this.appsDomain = () => fromEnv;
  }

  /**
   * The answer for a request whose Host the hub does not serve, or null to
   * go on: 400 for a Host that is missing or not a host, 421 (RFC 9110
   * section 15.5.20) for a name that is not the hub's. Probes are answered
   * under any name: platform health checkers send whatever Host they like.
   */
  refusal(request: Request): Response | null {
    const header = request.headers.get('host');
    // Bun builds request.url from Host; one it cannot parse leaves the bare
    // request-target (`/x/...`), which every path check here would misread.
    const bareTarget = request.url.charCodeAt(0) === 47;
    // Nearly every request repeats the last allowed Host: the verdict stands
    // while the issuer and apps domain, all it depends on besides, do.
    const issuer = this.issuer();
    const appsDomain = this.appsDomain();
    const last = this.lastAllowed;
    if (
      header !== null &&
      header === last.header &&
      !bareTarget &&
      issuer === last.issuer &&
      appsDomain === last.appsDomain
    ) {
      return null;
    }
    const name = header === null ? null : hostnameOf(header);
    if (name === null || bareTarget) return invalidHost(request, header);
    if (this.allows(name)) {
      this.lastAllowed = { header, issuer, appsDomain };
      return null;
    }
    if (isProbe(request)) return null;
    return misdirected(request, name);
  }

  /** True when `name` (lower case, no port, no final dot) is one of the hub's. */
  allows(name: string): boolean {
    return (
      this.names.has(name) ||
      name === this.currentIssuerName() ||
      isIpLiteral(name) ||
      isAppsDomainHost(name, this.appsDomain())
    );
  }

  private currentIssuerName(): string {
    const issuer = this.issuer();
    if (issuer && issuer !== this.lastIssuer) {
      this.lastIssuer = issuer;
      this.issuerName = new URL(issuer).hostname;
    }
    return this.issuerName;
  }
}

/**
 * The hook for per-module origins: with `PARACHUTE_APPS_DOMAIN=apps.example.com`,
 * `vault.apps.example.com` is the vault module's own origin. Exactly the
 * names hub.ts routes as a module's (moduleOfHost): any other one-label
 * name, `x_y.apps.example.com`, was let in and then served as the hub's
 * origin, sign-in and admin UI included, under the modules' domain.
 */
export function isAppsDomainHost(name: string, appsDomain: string | null): boolean {
  return moduleOfHost(name, appsDomain) !== null;
}

/** `PARACHUTE_APPS_DOMAIN`, lower case, without a leading `*.` or dot; null when unset. */
export function appsDomainOf(env: Env): string | null {
  const raw = env.PARACHUTE_APPS_DOMAIN?.trim()
    .toLowerCase()
    .replace(/^\*?\./, '');
  if (!raw) return null;
  return checkedName(raw, 'PARACHUTE_APPS_DOMAIN', 'PARACHUTE_APPS_DOMAIN=apps.example.com');
}

/**
 * `PARACHUTE_ALLOWED_HOSTS`: more names the hub answers to, comma-separated
 * (a LAN name, a second domain). An entry that is not a plain host name is
 * an error at startup: a URL or `host:port` would otherwise never match.
 */
export function allowedHosts(env: Env): string[] {
  return (env.PARACHUTE_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean)
    .map((entry) =>
      checkedName(
        entry,
        'PARACHUTE_ALLOWED_HOSTS',
        'PARACHUTE_ALLOWED_HOSTS=hub.example.com,nas.local',
      ),
    );
}

/**
 * The URL the hub's own routes get for `request`: the issuer origin plus the
 * path and query the hub parsed. Elysia finds the path by searching for `/`
 * from a fixed offset, so under a very short Host (`a`) it read
 * `/xyz/api/modules` as `/api/modules`; the router must never see another
 * path than the one the hub routed on.
 */
export function routedUrl(request: Request, origin: string): string {
  const url = request.url;
  // The same search as hub.ts's pathOf: the first `/` after the authority.
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return origin + (start === -1 ? '/' : url.slice(start));
}

/** The host name of a Host header value, lower case, without port or final dot; null when invalid. */
export function hostnameOf(header: string): string | null {
  const match = HOST.exec(header);
  if (!match?.[1]) return null;
  return match[1].toLowerCase().replace(/\.$/, '');
}

function isIpLiteral(name: string): boolean {
  if (name.startsWith('[')) return ipv6(name.slice(1, -1)) !== null;
  return ipv4(name) !== null;
}

function isProbe(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = new URL(request.url).pathname;
  return path === '/health' || path === '/api/ready';
}

function configuredOrigin(env: Env): string | null {
  try {
    return env.PARACHUTE_HUB_ORIGIN?.trim()
      ? normalizeOrigin(env.PARACHUTE_HUB_ORIGIN, 'PARACHUTE_HUB_ORIGIN')
      : null;
  } catch {
    return null; // boot stops on it with a clear message (platform/origin.ts)
  }
}

function platformOriginOrNull(env: Env): string | null {
  try {
    return platformOrigin(env);
  } catch {
    return null; // as above
  }
}

function checkedName(entry: string, variable: string, example: string): string {
  if (NAME.test(entry)) return entry;
  throw new OperatorError(
    `${variable}: "${entry}" is not a host name.`,
    `Give bare names as browsers send them, without scheme, port or path, comma-separated: ${example}`,
  );
}

// RFC 9112 section 3.2: a missing or invalid Host is answered 400.
function invalidHost(request: Request, header: string | null): Response {
  const why =
    header === null
      ? 'The request has no Host header.'
      : `The Host header ${JSON.stringify(header)} is not a valid host.`;
  const fix = 'Send one host name, e.g. Host: 127.0.0.1:1939.';
  if (wantsPage(request)) {
    return hubPage({
      status: 400,
      eyebrow: '400 · Bad request',
      tone: 'error',
      title: 'This address has no valid host name',
      paragraphs: [why, fix],
    });
  }
  return Response.json(errorBody('invalid_request', `${why} ${fix}`), {
    status: 400,
    headers: HUB_HEADERS,
  });
}

/**
 * The page says no more than the JSON: on a rebinding name the attacker's
 * page can read it, so it names neither the hub's origin nor its names.
 */
function misdirected(request: Request, name: string): Response {
  const why =
    'only serves its own names, so that a web page cannot reach it through a name that points here (DNS rebinding).';
  const fix = `If ${name} is yours, add it to PARACHUTE_ALLOWED_HOSTS (comma-separated) or make it the origin (PARACHUTE_HUB_ORIGIN), and restart the hub.`;
  if (wantsPage(request)) {
    return hubPage({
      status: 421,
      eyebrow: '421 · Wrong host name',
      tone: 'warning',
      title: `This hub does not answer to ${name}`,
      paragraphs: [`It ${why}`, fix],
      command: `PARACHUTE_ALLOWED_HOSTS=${name}`,
      home: '#',
    });
  }
  const refused = `This hub does not answer to the name "${name}": it ${why}`;
  return Response.json(errorBody('misdirected_request', `${refused} ${fix}`), {
    status: 421,
    headers: HUB_HEADERS,
  });
}
