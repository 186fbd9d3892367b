import { OperatorError } from './operator-error.ts';

/** Where the canonical origin came from, in the order auth.md section 1 checks them. */
export type OriginSource =
  | 'settings'
  | 'PARACHUTE_HUB_ORIGIN'
  | 'RENDER_EXTERNAL_URL'
  | 'FLY_APP_NAME'
  | 'loopback';

export interface ResolvedOrigin {
  origin: string;
  source: OriginSource;
}

type Env = Record<string, string | undefined>;

/**
 * The issuer origin: the admin's saved setting, then PARACHUTE_HUB_ORIGIN,
 * then RENDER_EXTERNAL_URL, then https://$FLY_APP_NAME.fly.dev, then
 * http://127.0.0.1:<port>. A malformed value is an OperatorError naming it,
 * never silently skipped: a wrong issuer breaks every client.
 */
export function resolveOrigin(
  saved: string | null | undefined,
  env: Env,
  port: number,
): ResolvedOrigin {
  if (saved)
    return { origin: normalizeOrigin(saved, 'the saved origin setting'), source: 'settings' };
  const candidates: [OriginSource, string | undefined][] = [
    ['PARACHUTE_HUB_ORIGIN', env.PARACHUTE_HUB_ORIGIN],
    ['RENDER_EXTERNAL_URL', env.RENDER_EXTERNAL_URL],
    ['FLY_APP_NAME', env.FLY_APP_NAME ? `https://${env.FLY_APP_NAME}.fly.dev` : undefined],
  ];
  for (const [source, value] of candidates) {
    if (value?.trim()) return { origin: normalizeOrigin(value, source), source };
  }
  return { origin: `http://127.0.0.1:${port}`, source: 'loopback' };
}

/** The platform's public origin, when running on Fly or Render (also accepted as an alias). */
export function platformOrigin(env: Env): string | null {
  if (env.RENDER_EXTERNAL_URL?.trim())
    return normalizeOrigin(env.RENDER_EXTERNAL_URL, 'RENDER_EXTERNAL_URL');
  if (env.FLY_APP_NAME?.trim()) return `https://${env.FLY_APP_NAME.trim()}.fly.dev`;
  return null;
}

/**
 * Every origin the hub answers as (modules.md section 4, PARACHUTE_HUB_ORIGINS):
 * the issuer first, then its loopback aliases, then the platform origin.
 */
export function hubOrigins(issuer: string, port: number, env: Env): string[] {
  const all = [issuer, `http://127.0.0.1:${port}`, `http://localhost:${port}`, platformOrigin(env)];
  return [...new Set(all.filter((o): o is string => Boolean(o)))];
}

/**
 * `scheme://host[:port]` with no trailing slash, path, query or credentials;
 * the string every token's `iss` must equal exactly.
 */
export function normalizeOrigin(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid(raw, what, 'it is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid(raw, what, 'use http or https');
  if (url.username || url.password) throw invalid(raw, what, 'it must not contain credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw invalid(raw, what, 'an origin has no path, query or fragment');
  }
  return url.origin;
}

function invalid(raw: string, what: string, why: string): OperatorError {
  return new OperatorError(
    `${what} "${raw}" is not a valid origin: ${why}.`,
    'Give it as scheme://host[:port], for example https://hub.example.com.',
  );
}
