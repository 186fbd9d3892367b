/** The public origin Fly gives an app: https://NAME.fly.dev. */
export function flyAppOrigin(app: string): string {
  return `https://${app}.fly.dev`;
}

/**
 * Fetches `path` on https://APP.fly.dev. With PARACHUTE_FLY_EDGE set (tests,
 * a local fake of Fly's edge) the request goes to that address instead, with
 * `Host: APP.fly.dev`, as `curl --resolve` would.
 */
export function flyAppFetch(
  app: string,
  path: string,
  init: RequestInit = {},
  env: Record<string, string | undefined> = process.env,
): Promise<Response> {
  const edge = env.PARACHUTE_FLY_EDGE?.trim();
  if (!edge) return fetch(`${flyAppOrigin(app)}${path}`, init);
  const headers = new Headers(init.headers);
  headers.set('host', `${app}.fly.dev`);
  return fetch(`${edge.replace(/\/+$/, '')}${path}`, { ...init, headers });
}
