// A small typed client for the Fly Machines REST API (https://api.machines.dev/v1),
// enough for one app per operator: apps, IPs, secrets, volumes, machines,
// leases. Facts from ../shared/notes/fly-machines-api.md; no flyctl.
import { z } from 'zod';

/** An error answer of the Machines API: HTTP status, Fly's `status` code, its message, the request id. */
export class FlyApiError extends Error {
  override name = 'FlyApiError';
  constructor(
    readonly status: number,
    /** Fly's machine-readable `status` field (`name_taken`, `insufficient_capacity`…), or "". */
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly method = '',
    readonly path = '',
  ) {
    super(message);
  }
}

/**
 * A request whose answer never came (connection reset or timeout). For a
 * POST it may or may not have happened: the caller re-reads state instead of
 * sending it again.
 */
export class FlyNoAnswer extends Error {
  override name = 'FlyNoAnswer';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`no answer from the Fly Machines API to ${method} ${path} (${reason})`);
  }
}

export const DEFAULT_API = 'https://api.machines.dev';

/** The `Authorization` value for a token: a `FlyV1 …` macaroon goes as-is, anything else as a bearer. */
export function authorization(token: string): string {
  const t = token.trim();
  return t.startsWith('FlyV1 ') ? t : `Bearer ${t}`;
}

// ---- the shapes read (unknown fields pass through untouched) ----

export const App = z.looseObject({
  id: z.string().optional(),
  name: z.string(),
  status: z.string().optional(),
  organization: z.looseObject({ slug: z.string().optional() }).nullish(),
});
export type App = z.infer<typeof App>;

const Ip = z.looseObject({
  ip: z.string(),
  region: z.string().nullish(),
  shared: z.boolean().nullish(),
});
const IpList = z.looseObject({ ips: z.array(Ip).nullish() });

const SecretsSet = z.looseObject({ version: z.number().nullish() });
const SecretsList = z.looseObject({
  secrets: z.array(z.looseObject({ name: z.string() })).nullish(),
  version: z.number().nullish(),
});

export const Volume = z.looseObject({
  id: z.string(),
  name: z.string(),
  region: z.string(),
  state: z.string().nullish(),
  size_gb: z.number().nullish(),
  attached_machine_id: z.string().nullish(),
});
export type Volume = z.infer<typeof Volume>;

const Check = z.looseObject({ name: z.string().nullish(), status: z.string().nullish() });
/** A machine's config is sent back whole on update, so it is kept as the API gave it. */
const MachineConfig = z.looseObject({
  image: z.string().nullish(),
  env: z.record(z.string(), z.string()).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export const Machine = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  state: z.string(),
  region: z.string().nullish(),
  instance_id: z.string().nullish(),
  config: MachineConfig,
  checks: z.array(Check).nullish(),
});
export type Machine = z.infer<typeof Machine>;

const Lease = z.looseObject({
  data: z.looseObject({ nonce: z.string(), expires_at: z.number().nullish() }),
});

const ErrorBody = z.looseObject({
  error: z.string().nullish(),
  message: z.string().nullish(),
  status: z.string().nullish(),
});

// ---- the client ----

export interface MachinesApiOptions {
  token: string;
  /** FLY_API_HOSTNAME; `/v1` is added. */
  base?: string;
  /** Total time 429 retries may wait for one request before giving up. */
  rateLimitBudgetMs?: number;
}

interface Call {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Answers that are not errors for this call (e.g. 404 on a lookup, 408 on wait). */
  accept?: number[];
}

const GET_RETRIES = 3;
const BACKOFF_CAP_MS = 8_000;
// `wait` holds the request up to 60 s; anything much slower than that is a lost answer.
const REQUEST_TIMEOUT_MS = 90_000;

export class MachinesApi {
  /** Requests sent (retries included), for the figures. */
  requests = 0;
  /** 429 answers met, and the time spent waiting them out. */
  rateLimited = 0;
  rateLimitWaitMs = 0;
  private readonly base: string;
  private readonly auth: string;
  private readonly budgetMs: number;

  constructor(options: MachinesApiOptions) {
    this.base = `${(options.base || DEFAULT_API).replace(/\/+$/, '')}/v1`;
    this.auth = authorization(options.token);
    this.budgetMs = options.rateLimitBudgetMs ?? 120_000;
  }

  /**
   * Sends one request and parses its JSON with `schema`. 429 is waited out
   * (Retry-After, else exponential backoff with jitter) within a bounded
   * budget: the API did not act on it, so any method may be sent again. A
   * GET whose connection is cut is sent again too; a POST or DELETE whose
   * answer is lost throws FlyNoAnswer, so its caller re-reads state.
   */
  async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: Call = {},
  ): Promise<{ status: number; data: z.infer<S> | null }> {
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const started = Date.now();
    let resets = 0;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        this.requests++;
        res = await fetch(url, {
          method,
          headers: {
            authorization: this.auth,
            accept: 'application/json',
            ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...options.headers,
          },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          redirect: 'error',
        });
      } catch (error) {
        const cause = (error as Error & { code?: string }).code ?? (error as Error).name;
        if (method === 'GET' && resets < GET_RETRIES) {
          resets++;
          await sleep(100 * 2 ** resets + Math.random() * 100);
          continue;
        }
        throw new FlyNoAnswer(method, path, cause);
      }
      const requestId = res.headers.get('fly-request-id');
      if (res.status === 429) {
        await res.body?.cancel();
        const wait = retryDelay(res.headers.get('retry-after'), attempt);
        if (Date.now() - started + wait > this.budgetMs) {
          throw new FlyApiError(
            429,
            'rate_limited',
            `rate limited for over ${Math.round(this.budgetMs / 1000)} s`,
            requestId,
            method,
            path,
          );
        }
        this.rateLimited++;
        this.rateLimitWaitMs += wait;
        await sleep(wait);
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (error) {
        if (method === 'GET' && resets < GET_RETRIES) {
          resets++;
          continue;
        }
        throw new FlyNoAnswer(method, path, (error as Error).message);
      }
      if (res.ok || options.accept?.includes(res.status)) {
        if (!res.ok || text.trim() === '') return { status: res.status, data: null };
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new FlyApiError(
            res.status,
            'bad_json',
            `not JSON: ${text.slice(0, 120)}`,
            requestId,
            method,
            path,
          );
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) {
          throw new FlyApiError(
            res.status,
            'unexpected_shape',
            `an answer of unexpected shape (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`,
            requestId,
            method,
            path,
          );
        }
        return { status: res.status, data: parsed.data };
      }
      throw errorFrom(res.status, text, requestId, method, path);
    }
  }

  // ---- apps ----

  /** The app, or null when the name is free (404). 403: the name is someone else's. */
  async getApp(app: string): Promise<App | null> {
    return (await this.call('GET', `/apps/${enc(app)}`, App, { accept: [404] })).data;
  }

  async createApp(app: string, org: string): Promise<void> {
    await this.call('POST', '/apps', z.unknown(), { body: { app_name: app, org_slug: org } });
  }

  /** Deletes the app and (force) everything in it: machines, volumes, IPs, secrets. */
  async deleteApp(app: string): Promise<boolean> {
    const { status } = await this.call('DELETE', `/apps/${enc(app)}`, z.unknown(), {
      query: { force: true },
      accept: [404],
    });
    return status !== 404;
  }

  // ---- IPs ----

  async listIps(app: string) {
    return (await this.call('GET', `/apps/${enc(app)}/ip_assignments`, IpList)).data?.ips ?? [];
  }

  async assignIp(app: string, type: 'shared_v4' | 'v6'): Promise<void> {
    await this.call('POST', `/apps/${enc(app)}/ip_assignments`, z.unknown(), { body: { type } });
  }

  // ---- secrets ----

  /** Sets (a null value deletes) secrets; returns the app's new secrets version. */
  async setSecrets(app: string, values: Record<string, string | null>): Promise<number | null> {
    const { data } = await this.call('POST', `/apps/${enc(app)}/secrets`, SecretsSet, {
      body: { values },
    });
    return data?.version ?? null;
  }

  /** The names of the app's secrets and its current secrets version (values are never read). */
  async listSecrets(app: string): Promise<{ names: string[]; version: number | null }> {
    const { data } = await this.call('GET', `/apps/${enc(app)}/secrets`, SecretsList);
    return {
      names: (data?.secrets ?? []).map((s) => s.name),
      version: data?.version ?? null,
    };
  }

  // ---- volumes ----

  async listVolumes(app: string): Promise<Volume[]> {
    return (await this.call('GET', `/apps/${enc(app)}/volumes`, z.array(Volume))).data ?? [];
  }

  async createVolume(
    app: string,
    volume: { name: string; region: string; size_gb: number },
  ): Promise<Volume> {
    const { data } = await this.call('POST', `/apps/${enc(app)}/volumes`, Volume, {
      body: { ...volume, encrypted: true },
    });
    if (!data) throw new FlyApiError(200, 'empty', 'volume create answered nothing', null);
    return data;
  }

  // ---- machines ----

  async listMachines(app: string, metadata?: Record<string, string>): Promise<Machine[]> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata ?? {})) query[`metadata.${k}`] = v;
    return (
      (await this.call('GET', `/apps/${enc(app)}/machines`, z.array(Machine), { query })).data ?? []
    );
  }

  async getMachine(app: string, id: string): Promise<Machine> {
    const { data } = await this.call('GET', `/apps/${enc(app)}/machines/${enc(id)}`, Machine);
    if (!data) throw new FlyApiError(200, 'empty', 'machine answered nothing', null);
    return data;
  }

  async createMachine(app: string, body: Record<string, unknown>): Promise<Machine> {
    const { data } = await this.call('POST', `/apps/${enc(app)}/machines`, Machine, { body });
    if (!data) throw new FlyApiError(200, 'empty', 'machine create answered nothing', null);
    return data;
  }

  /** Replaces the machine's whole config (no merge); `nonce` when it is leased. */
  async updateMachine(
    app: string,
    id: string,
    body: Record<string, unknown>,
    nonce?: string,
  ): Promise<Machine> {
    const { data } = await this.call('POST', `/apps/${enc(app)}/machines/${enc(id)}`, Machine, {
      body,
      headers: nonce ? { 'fly-machine-lease-nonce': nonce } : {},
    });
    if (!data) throw new FlyApiError(200, 'empty', 'machine update answered nothing', null);
    return data;
  }

  /** One `wait` call (at most 60 s): true when the state was reached, false on 408. */
  async waitFor(
    app: string,
    id: string,
    state: 'started' | 'stopped' | 'destroyed',
    options: { instanceId?: string; timeoutS?: number } = {},
  ): Promise<boolean> {
    const { status } = await this.call(
      'GET',
      `/apps/${enc(app)}/machines/${enc(id)}/wait`,
      z.unknown(),
      {
        query: { state, timeout: options.timeoutS ?? 60, instance_id: options.instanceId },
        accept: [408],
      },
    );
    return status !== 408;
  }

  /** Takes the machine's lease for `ttlS` seconds; returns its nonce. 409 when someone holds it. */
  async acquireLease(app: string, id: string, ttlS: number): Promise<string> {
    const { data } = await this.call('POST', `/apps/${enc(app)}/machines/${enc(id)}/lease`, Lease, {
      query: { ttl: ttlS },
    });
    if (!data) throw new FlyApiError(200, 'empty', 'lease answered nothing', null);
    return data.data.nonce;
  }

  async releaseLease(app: string, id: string, nonce: string): Promise<void> {
    await this.call('DELETE', `/apps/${enc(app)}/machines/${enc(id)}/lease`, z.unknown(), {
      headers: { 'fly-machine-lease-nonce': nonce },
      accept: [404],
    });
  }
}

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry-After in seconds (or an HTTP date) when given, else exponential backoff with full jitter, capped. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.min(Math.max(at - Date.now(), 0), 30_000);
  }
  const ceiling = Math.min(BACKOFF_CAP_MS, 250 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** An error answer as FlyApiError: `error` (or `message`) and `status` from Fly's JSON body. */
function errorFrom(
  status: number,
  text: string,
  requestId: string | null,
  method: string,
  path: string,
): FlyApiError {
  let body: z.infer<typeof ErrorBody> = {};
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // Not JSON (a proxy's page): its text is the message.
  }
  const message = body.error || body.message || text.trim().slice(0, 200) || `HTTP ${status}`;
  // fly-go falls back to the text when `status` is missing.
  const code = body.status || (/already been taken/i.test(message) ? 'name_taken' : '');
  return new FlyApiError(status, code, message, requestId, method, path);
}
