// Reaching https://NAME.fly.dev through the fake's edge in tests: every
// request goes to the edge's loopback address with `Host: NAME.fly.dev`, the
// way `parachute deploy fly` does with PARACHUTE_FLY_EDGE.
import { ApiClient } from './api.ts';

/** fetch() for https://NAME.fly.dev/… URLs, sent to `edge` with their Host. */
export function edgeFetch(edge: string): typeof fetch {
  const send = (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set('host', url.host);
    return fetch(`${edge}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
    });
  };
  return send as typeof fetch;
}

/** A browser-like client of the hub at https://APP.fly.dev, through the edge. */
export class EdgeClient extends ApiClient {
  constructor(
    readonly edge: string,
    readonly app: string,
  ) {
    super(edge, { origin: `https://${app}.fly.dev` });
  }

  override request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    return super.request(method, path, body, { host: `${this.app}.fly.dev`, ...headers });
  }
}
