import { afterAll } from 'bun:test';
import { join } from 'node:path';
import { ADMIN, ApiClient, freshHub } from './api.ts';
import { type HubProcess, waitFor } from './binary.ts';

/** Environment that gives a fresh hub its first admin (and so an operator token) at boot. */
export const SEED = {
  PARACHUTE_INITIAL_ADMIN_USERNAME: ADMIN.username,
  PARACHUTE_INITIAL_ADMIN_PASSWORD: ADMIN.password,
};

/** Hubs started by a test file, stopped cleanly after it (so their modules stop too). */
export function trackHubs(): HubProcess[] {
  const hubs: HubProcess[] = [];
  afterAll(async () => {
    for (const h of hubs) {
      h.proc.kill('SIGTERM');
      await h.proc.exited;
    }
  });
  return hubs;
}

/** Calls the hub's API with the operator token, as the CLI does (re-read each call: it may rotate). */
export function operatorClient(url: string, home: string) {
  const api = new ApiClient(url, { origin: null });
  return async (method: string, path: string, body?: unknown) => {
    const token = (await Bun.file(join(home, 'operator.token')).text()).trim();
    return api.request(method, path, body, { authorization: `Bearer ${token}` });
  };
}
export type OperatorCall = ReturnType<typeof operatorClient>;

/** A fresh hub with an admin, tracked in `hubs`, and an operator-token client for it. */
export async function hubWithOperator(hubs: HubProcess[], env: Record<string, string> = {}) {
  const started = await freshHub({ ...SEED, ...env });
  hubs.push(started.hub);
  return { ...started, call: operatorClient(started.url, started.hub.home) };
}

/** Waits for an install/upgrade operation (from its 202 answer) to end; returns the operation. */
export function finishOperation(call: OperatorCall, accepted: { json: Record<string, unknown> }) {
  const id = accepted.json.operation_id as string;
  return waitFor(
    'the operation to end',
    async () => {
      const op = (await call('GET', `/api/modules/operations/${id}`)).json;
      return op.state === 'running' ? undefined : op;
    },
    60_000,
  );
}

/** POST /api/modules/install and wait for the operation to end. */
export async function install(call: OperatorCall, body: object) {
  return finishOperation(call, await call('POST', '/api/modules/install', body));
}

/** The module whose short name (module.json `name`) is `name`, as GET /api/modules lists it. */
export async function moduleNamed(call: OperatorCall, name: string) {
  const list = (await call('GET', '/api/modules')).json.modules as Record<string, unknown>[];
  return list.find((m) => m.module === name);
}

/** Waits until the module is `running`; returns it. */
export function running(call: OperatorCall, name: string, timeoutMs = 20_000) {
  return waitFor(
    `${name} running`,
    async () => {
      const m = await moduleNamed(call, name);
      return m?.state === 'running' ? m : undefined;
    },
    timeoutMs,
  );
}

/** POSTs `body` raw to /api/modules/upload as `client` (its session cookie and, unless `csrf` is false, CSRF header). */
export async function uploadModule(url: string, client: ApiClient, body: BodyInit, csrf = true) {
  const headers: Record<string, string> = {
    origin: url,
    'content-type': 'application/octet-stream',
    cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
  };
  const token = client.cookies.get('__Host-parachute_csrf') ?? client.cookies.get('parachute_csrf');
  if (csrf && token) headers['x-csrf-token'] = token;
  const res = await fetch(`${url}/api/modules/upload`, { method: 'POST', headers, body });
  return {
    status: res.status,
    json: (await res.json().catch(() => ({}))) as Record<string, unknown>,
  };
}
