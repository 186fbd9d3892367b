import { type HubProcess, isolatedBinary, ready, spawnHub, waitFor } from './binary.ts';

/** A browser-like client: keeps cookies, sends Origin, echoes the CSRF cookie in X-CSRF-Token. */
export class ApiClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly url: string,
    readonly options: { origin?: string | null; csrf?: boolean } = {},
  ) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const h = new Headers(headers);
    if (body !== undefined) h.set('content-type', 'application/json');
    const origin = this.options.origin === undefined ? this.url : this.options.origin;
    if (origin !== null && !h.has('origin')) h.set('origin', origin);
    if (this.cookies.size > 0 && !h.has('cookie')) {
      h.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const csrf = this.cookies.get('__Host-parachute_csrf') ?? this.cookies.get('parachute_csrf');
    if (csrf && this.options.csrf !== false && !h.has('x-csrf-token')) h.set('x-csrf-token', csrf);
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '') this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  get = (path: string, headers?: Record<string, string>) =>
    this.request('GET', path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request('POST', path, body ?? {}, headers);
  put = (path: string, body?: unknown) => this.request('PUT', path, body ?? {});
  delete = (path: string) => this.request('DELETE', path);

  /** Signs in with a password (no second factor). */
  async login(username: string, password: string) {
    const res = await this.post('/api/auth/login', { username, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    return res;
  }
}

export const ADMIN = { username: 'admin', password: 'correct horse battery staple' };

/** A fresh hub in its own temp folder, ready; `env` adds to the hub's environment. */
export async function freshHub(env: Record<string, string> = {}, home?: string) {
  const { dir, bin } = isolatedBinary();
  const hub = spawnHub(bin, { cwd: dir, env: home ? { ...env, PARACHUTE_HOME: home } : env });
  const url = await hub.listening();
  await ready(url);
  return { hub, url, bin, dir };
}

/** The bootstrap token from the hub's log. */
export function bootstrapToken(hub: HubProcess): Promise<string> {
  return waitFor(
    'the bootstrap banner',
    () => /parachute-bootstrap-[A-Za-z0-9_-]{43}/.exec(hub.stdout())?.[0],
  );
}

/** A hub whose admin was created through /api/setup; returns a signed-in admin client. */
export async function setUpHub(env: Record<string, string> = {}) {
  const started = await freshHub(env);
  const admin = new ApiClient(started.url);
  const res = await admin.post('/api/setup', {
    bootstrap_token: await bootstrapToken(started.hub),
    ...ADMIN,
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${res.text}`);
  return { ...started, admin };
}
