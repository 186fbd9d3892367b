import { OperatorError } from '../platform/operator-error.ts';

type Env = Record<string, string | undefined>;

/** Fly app names: lowercase letters, digits and dashes (what `fly apps create` accepts). */
const APP_NAME = /^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/;

/** Checks an app name given on the command line; an OperatorError says what a name looks like. */
export function checkAppName(app: string): string {
  if (!APP_NAME.test(app)) {
    throw new OperatorError(
      `"${app}" is not a Fly app name.`,
      'An app name is 2 to 63 lowercase letters, digits and dashes, such as my-hub.',
    );
  }
  return app;
}

/** The app's public origin: https://NAME.fly.dev. */
export function flyAppOrigin(app: string): string {
  return `https://${checkAppName(app)}.fly.dev`;
}

/**
 * fetch() for a URL on an app's https://NAME.fly.dev. With
 * PARACHUTE_FLY_EDGE=http://127.0.0.1:PORT (tests, a local fake of Fly's
 * edge) the request goes to that address instead, with `Host: NAME.fly.dev`,
 * as `curl --resolve` would send it.
 */
export function fetchFlyApp(url: string, init: RequestInit = {}, env: Env = process.env) {
  const edge = env.PARACHUTE_FLY_EDGE?.trim();
  if (!edge) return fetch(url, init);
  const target = new URL(url);
  const via = new URL(edge);
  const headers = new Headers(init.headers);
  headers.set('host', target.host);
  return fetch(`${via.origin}${target.pathname}${target.search}`, { ...init, headers });
}

/** fetchFlyApp for `path` on the app's origin. */
export function flyAppFetch(
  app: string,
  path: string,
  init: RequestInit = {},
  env: Env = process.env,
): Promise<Response> {
  return fetchFlyApp(`${flyAppOrigin(app)}${path}`, init, env);
}
