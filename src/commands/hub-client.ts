import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { type HubRuntime, readRuntime } from '../platform/runtime-file.ts';
import { cliHome } from './cli-home.ts';
import { EXIT } from './command.ts';

// Uninstall waits for the module to stop and for `bun remove`; anything slower is a hung hub.
const CALL_TIMEOUT_MS = 120_000;

/** A module as GET /api/modules shows it: only the fields the CLI reads. */
export interface ModuleInfo {
  name: string;
  module: string | null;
  state: string;
  pid: number | null;
  port: number;
  uptimeMs: number | null;
  restarts: number;
  version: string;
  lastError: { reason: string; message: string } | null;
}

/** One Server-Sent Event: its type (`message` when unnamed) and its data lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * The running hub of this PARACHUTE_HOME, reached over loopback with the
 * operator token. Every failure is an OperatorError that says what to do,
 * never a bare connection error or a bare 401.
 */
export class HubClient {
  private constructor(
    readonly home: string,
    /** Always loopback: the CLI runs on the hub's host (product.md, "One runtime everywhere"). */
    readonly base: string,
    readonly runtime: HubRuntime,
    private readonly token: string | null,
  ) {}

  /**
   * Finds the hub of PARACHUTE_HOME through its run/hub.json, and the
   * operator token. Without a running hub there it says so and which home
   * it looked in: it never tries a default port, where another home's hub
   * may answer.
   */
  static connect(env: Record<string, string | undefined> = process.env): HubClient {
    const home = cliHome(env);
    const runtime = readRuntime(home);
    if (!runtime) throw notRunning(home, env);
    const token = readOperatorTokenFile(hubPaths(home).operatorToken);
    return new HubClient(home, `http://127.0.0.1:${runtime.port}`, runtime, token);
  }

  /** The hub's public origin as it announced it, else (still booting) the loopback URL. */
  get origin(): string {
    return this.runtime.origin ?? this.base;
  }

  /** Calls a JSON API and returns its parsed body; non-2xx answers become OperatorErrors. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(CALL_TIMEOUT_MS));
    if (!res.ok) return this.fail(res);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      // Something else answers on the port (the hub always sends JSON here).
      throw new OperatorError(
        `${this.base}${path} did not answer with JSON; is something other than the hub on that port?`,
        `The hub of PARACHUTE_HOME=${this.home} wrote port ${this.runtime.port} to run/hub.json; is that file left from another program?`,
      );
    }
  }

  /** Opens a Server-Sent Events stream and yields its events until the hub closes it. */
  async *stream(path: string): AsyncGenerator<SseEvent> {
    const res = await this.send('GET', path, undefined);
    if (!res.ok || !res.body) return await this.fail(res);
    try {
      yield* readSse(res.body);
    } catch (error) {
      // Bun's message adds fetch debugging advice; the code says enough.
      const { code, message } = error as Error & { code?: string };
      throw new OperatorError(
        `the connection to the hub was cut (${code ?? message}).`,
        'The hub may have stopped or restarted; check with `parachute status`.',
      );
    }
  }

  /** A GET whose body is a file (an export): the answer, checked to be 2xx, body unread. */
  async download(path: string): Promise<Response> {
    const res = await this.send('GET', path, undefined);
    if (!res.ok || !res.body) return await this.fail(res);
    return res;
  }

  /** GET /health, which needs no token: version and module counts. */
  health(): Promise<{ version: string; modules: { running: number; total: number } }> {
    return this.call('GET', '/health');
  }

  /** Every installed module. */
  async modules(): Promise<ModuleInfo[]> {
    return (await this.call<{ modules: ModuleInfo[] }>('GET', '/api/modules')).modules;
  }

  private async send(method: string, path: string, body: unknown, signal?: AbortSignal) {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // A file (a module upload) goes as the raw body; anything else as JSON.
    const raw = body instanceof Blob;
    if (body !== undefined) headers['content-type'] = raw ? 'application/gzip' : 'application/json';
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw this.unreachable(error as Error & { code?: string });
    }
  }

  private unreachable(error: Error & { code?: string }): OperatorError {
    if (error.name === 'TimeoutError') {
      return new OperatorError(
        `the hub at ${this.base} did not answer within ${CALL_TIMEOUT_MS / 1000} s.`,
        'See its log (`journalctl -u parachute`, or the terminal running `parachute serve`).',
      );
    }
    // Alive (its pid answers) but not on loopback: it was bound to another address.
    return new OperatorError(
      `the hub (pid ${this.runtime.pid}) does not answer on ${this.base}: ${error.message}`,
      `It listens on ${this.runtime.hostname}:${this.runtime.port}; CLI verbs need it on loopback (PARACHUTE_BIND_HOST=127.0.0.1 or 0.0.0.0).`,
    );
  }

  /** Turns an error answer into an OperatorError with the hub's words and what to do. */
  private async fail(res: Response): Promise<never> {
    const text = await res.text();
    let body: { error?: string; error_description?: string } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // Not the hub's JSON error shape (a proxy, or another program on the port).
    }
    const code = body.error ?? `http_${res.status}`;
    const description = body.error_description ?? (text.trim().slice(0, 200) || res.statusText);
    const tokenPath = hubPaths(this.home).operatorToken;
    if (res.status === 401 && !this.token) {
      throw new OperatorError(
        `there is no operator token at ${tokenPath}.`,
        'Write one with `parachute token rotate` (the hub needs an admin first: finish setup at <hub>/admin/setup).',
      );
    }
    if (res.status === 401 || res.status === 403) {
      throw new OperatorError(
        `the hub refused the operator token in ${tokenPath}: ${description} (${code})`,
        'It may have expired or been revoked; mint a new one with `parachute token rotate`.',
      );
    }
    if (code === 'unknown_module')
      throw new ApiError(res.status, code, description, await this.knownNames());
    if (code === 'setup_required') {
      throw new ApiError(res.status, code, description, `Setup page: ${this.origin}/admin/setup`);
    }
    if (code === 'starting') {
      throw new ApiError(res.status, code, description, 'Wait for `parachute status` to answer.');
    }
    throw new ApiError(res.status, code, description, '');
  }

  private async knownNames(): Promise<string> {
    const names = (await this.modules()).map((m) =>
      m.module && m.module !== m.name ? `${m.module} (${m.name})` : m.name,
    );
    return names.length > 0
      ? `Installed modules: ${names.join(', ')}.`
      : 'No modules are installed; add one with `parachute install <package>`.';
  }
}

/** The operator token, or null when there is none; unreadable says who can read it. */
function readOperatorTokenFile(path: string): string | null {
  if (!existsSync(path)) return null;
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch (error) {
    throw new OperatorError(
      `cannot read the operator token ${path} (${(error as NodeJS.ErrnoException).code}).`,
      'Only the hub’s own user and root may read it: run this as that user, or with sudo.',
    );
  }
}

/**
 * No live hub has written run/hub.json in `home`. A checkout's `npm start`
 * keeps its hub in ./.parachute, where a plain `parachute status` does not
 * look: when that is what is running here, say how to reach it.
 */
function notRunning(home: string, env: Record<string, string | undefined>): OperatorError {
  const checkout = join(process.cwd(), '.parachute');
  const fromCheckout = !env.PARACHUTE_HOME && home !== checkout && readRuntime(checkout);
  return new OperatorError(
    `the hub is not running (PARACHUTE_HOME=${home}): no live hub has written ${join(hubPaths(home).run, 'hub.json')}.`,
    fromCheckout
      ? `A hub started with \`npm start\` is running from ./.parachute here (pid ${fromCheckout.pid}): run \`npm run cli -- <command>\` in this checkout, or set PARACHUTE_HOME=${checkout}.`
      : 'Install and start it as a service with `parachute init` (or run `parachute serve` in a terminal), or point PARACHUTE_HOME at the home of the hub you mean.',
  );
}

/** An `{error, error_description}` answer of the hub API (modules.md section 6). */
export class ApiError extends OperatorError {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    hint: string,
  ) {
    super(`${description} (${code})`, hint);
  }
}

/** Prints an OperatorError (its hint when it has one) and returns exit 1; rethrows anything else. */
export function reportError(error: unknown): number {
  if (!(error instanceof OperatorError)) throw error;
  console.error(`parachute: ${error.message}${error.hint ? `\n  ${error.hint}` : ''}`);
  return EXIT.failure;
}

/**
 * Parses a text/event-stream body (HTML Living Standard, "Server-sent
 * events", 9.2.6): `field: value` lines, events separated by a blank line,
 * `:` lines are comments (the hub's keep-alives).
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    // The last piece has no newline yet: keep it for the next chunk.
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}
