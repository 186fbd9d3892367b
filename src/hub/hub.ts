import type { Database } from 'bun:sqlite';
import { startAuth } from '../auth/boot.ts';
import { BackupScheduler } from '../backup/backup-scheduler.ts';
import { LAUNCHER_NAME, underLauncher } from '../fly/launcher-exit.ts';
import { ModuleIsolation } from '../modules/isolation.ts';
import { type Mount, matchMount } from '../modules/mounts.ts';
import { moduleOfHost } from '../platform/apps-domain.ts';
import { rememberClientIp } from '../platform/client-ip.ts';
import { ensureHome } from '../platform/home.ts';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { removeRuntime, writeRuntime } from '../platform/runtime-file.ts';
import { openStoreWhenUnlocked } from '../store/db.ts';
import { lockHome } from '../store/home-lock.ts';
import { type BootState, newBootState } from './boot-state.ts';
import { errorBody } from './error-body.ts';
import { clientAddressOf, trustedProxy } from './forwarded.ts';
import { probeResponse } from './health.ts';
import { HostPolicy, routedUrl } from './hosts.ts';
import { hubPage, wantsPage } from './hub-page.ts';
import { lazyApp } from './lazy-app.ts';
import { hubPathOnModuleOrigin, notOnModuleOrigin, toModuleOrigin } from './module-origin.ts';
import { startModules } from './modules-boot.ts';
import { forward } from './proxy.ts';
import { bindServer, type FetchHandler, type HubServer } from './server.ts';
import type { SpaFiles } from './spa-files.ts';
import { UiGatekeeper } from './ui-gate.ts';
import { VisitorPools } from './visitor-pools.ts';
import { upgradeToModule } from './ws-bridge.ts';

/** How the hub is asked to run (commands/serve.ts fills it from flags and env). */
export interface HubConfig {
  hostname: string;
  /** 0 picks a free port; the chosen one is in RunningHub.port and the log. */
  port: number;
  home: string;
  spaFiles: SpaFiles;
  /** Environment the hub reads its knobs from (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Time in-flight requests get to finish at shutdown before connections are cut. */
  shutdownGraceMs?: number;
}

export interface RunningHub {
  port: number;
  url: string;
  /** Stops serving and closes the store. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Boots the hub: claims its home (a second hub on it refuses before it
 * changes anything), binds the port (so /health answers from the first
 * millisecond), then opens the store, then mounts every route and declares
 * itself ready.
 */
export async function startHub(config: HubConfig): Promise<RunningHub> {
  const startedAt = performance.now();
  const state = newBootState();
  let handler: FetchHandler = bootingHandler(state);
  // Before any routing: names that are not the hub's get 421 (DNS rebinding).
  const hosts = new HostPolicy(config.env ?? process.env);
  ensureHome(config.home);
  const lock = await lockHome(config.home);
  let server: ReturnType<typeof bindServer>;
  try {
    server = bindServer({
      hostname: config.hostname,
      port: config.port,
      fetch: (request, srv) => hosts.refusal(request) ?? handler(request, srv),
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  const port = server.port as number;
  const url = `http://${formatHost(config.hostname)}:${port}`;
  log.info(`parachute listening on ${url}`);
  // At once, not at ready: a second hub on this home names this one from it.
  const runtime = {
    pid: process.pid,
    port,
    hostname: config.hostname,
    started_at: new Date().toISOString(),
    ...(underLauncher(config.env ?? process.env) ? { launcher: LAUNCHER_NAME } : {}),
  };
  writeRuntime(config.home, runtime);

  let db: Database | undefined;
  let auth: Awaited<ReturnType<typeof startAuth>>;
  let modules: Awaited<ReturnType<typeof startModules>>;
  try {
    await nextTurn();
    db = await openStoreWhenUnlocked(hubPaths(config.home).db);
    state.db = 'ok';
    await nextTurn();
    auth = await startAuth(db, config.home, port, config.env ?? process.env);
    await nextTurn();
    modules = await startModules(config.home, auth.ctx, config.env ?? process.env);
    state.modules = modules.counts;
  } catch (error) {
    db?.close();
    server.stop(true);
    removeRuntime(config.home);
    lock.release();
    throw error;
  }
  const store = db;
  const authCtx = auth.ctx;
  hosts.issuer = () => authCtx.origin;
  hosts.appsDomain = () => authCtx.appsDomain;
  const checkDb = () => pingDb(store);
  const isolation = new ModuleIsolation(store);
  const backups = new BackupScheduler({
    db: store,
    home: config.home,
    origin: () => authCtx.origin,
  });
  backups.start();
  const app = lazyApp({
    backups,
    state,
    auth: auth.ctx,
    modules: modules.manager,
    isolation,
    spaFiles: config.spaFiles,
  });
  const trusted = trustedProxy(config.env ?? process.env, (entry, why) =>
    log.warn(`PARACHUTE_TRUSTED_PROXIES: ignoring ${JSON.stringify(entry)}: ${why}`),
  );
  const clientAddress = clientAddressOf(config.env ?? process.env, trusted);
  const manager = modules.manager;
  const visitorPools = new VisitorPools();
  /** The hub's own routes: probes, then the app (with the body limit and the client's address). */
  const toHub = (request: Request, srv: HubServer, path: string) => {
    const probe = probeResponse(request, path, state, checkDb);
    if (probe) return probe;
    const peer = srv.requestIP(request)?.address;
    const ip = peer && clientAddress(peer, request.headers);
    // The router sees the path the hub routed on, never one it re-parses from Host.
    const url = routedUrl(request, authCtx.origin);
    if (STREAMED_PATHS.has(path) && request.method === 'POST') {
      // A module tarball or a hub export: the route checks the caller, then streams it to disk under its own limit.
      // Built around the visitor's own body stream: a copy made with
      // `new Request(url, request)` takes the body over, and cancelling it at
      // the limit left a chunked sender hanging until the idle timeout reset
      // it (ECONNRESET, no 413).
      const own = new Request(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        duplex: 'half',
      } as RequestInit);
      rememberClientIp(own, ip);
      return app(own);
    }
    if (request.body !== null && !request.headers.has('content-length')) {
      return readBounded(request, url).then((read) => {
        if (read instanceof Response) return read;
        rememberClientIp(read, ip);
        return app(read);
      });
    }
    const own = new Request(url, request);
    rememberClientIp(own, ip);
    return tooLarge(own) ?? app(own);
  };
  const uiGate = new UiGatekeeper(authCtx);
  // For the page of a module that cannot answer (unavailable-page.ts): links to the admin UI.
  const viewer = (request: Request, mount: Mount) => ({
    hubOrigin: authCtx.origin,
    admin: uiGate.isAdmin(request, mount),
    label: manager.row(mount.name)?.displayName ?? manager.manifestOf(mount.name)?.displayName,
  });
  /** A module's mount; `sandbox` gives its documents the sandbox CSP (hub/module-headers.ts). */
  const toModule = (
    request: Request,
    srv: HubServer,
    mount: Mount,
    sandbox: boolean,
  ): Response | Promise<Response | undefined> | undefined => {
    // Hosted UIs that need a signed-in visitor (ui-gate.ts); null, and free, for most mounts.
    const gates = mount.uis;
    if (gates !== null) {
      return uiGate
        .check(request, mount, gates)
        .then((refused) => refused ?? forwardToModule(request, srv, mount, sandbox));
    }
    return forwardToModule(request, srv, mount, sandbox);
  };
  const forwardToModule = (request: Request, srv: HubServer, mount: Mount, sandbox: boolean) => {
    // The proxy reads the peer address itself: recording it for hub routes
    // (a WeakMap entry per request) is work a proxied request never uses.
    const peer = srv.requestIP(request);
    const ip = peer?.address ?? 'unknown';
    const fromProxy = trusted(ip);
    const ctx = {
      clientIp: ip,
      trusted: fromProxy,
      visitor: peer ? (fromProxy ? clientAddress(ip, request.headers) : ip) : null,
      state: mount.managed ? manager.supervisor.stateOf(mount.name) : null,
      sandbox,
      // A reverse proxy (or the Fly or Render edge) sends any visitor's
      // request on any of its connections: a pool per connection would let a
      // module's late bytes reach another visitor, so each request gets its own.
      session: fromProxy ? null : visitorPools.session(peer?.address, peer?.port),
      viewer,
    };
    if (mount.websocket && request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
      return upgradeToModule(request, srv, mount, ctx);
    }
    return forward(request, mount, ctx);
  };
  handler = (request, srv) => {
    const path = pathOf(request.url);
    // Module paths go straight to the proxy: no hub route lives under a mount.
    const mount = manager.mounts.length > 0 ? matchMount(manager.mounts, path) : null;
    const appsDomain = authCtx.appsDomain;
    if (appsDomain !== null) {
      // A module's own origin (modules.md section 7): its mounts and its
      // session, nothing else. The Host check (issue 14 point 4) must count
      // these hosts as the hub's own: moduleOfHost() in platform/apps-domain.ts.
      const hostModule = moduleOfHost(request.headers.get('host'), appsDomain);
      if (hostModule !== null) {
        if (mount?.module === hostModule)
          return toModule(request, srv, mount, isolation.has(mount.name));
        if (hubPathOnModuleOrigin(request.method, path)) return toHub(request, srv, path);
        return notOnModuleOrigin(request, hostModule, path, authCtx.origin);
      }
      if (mount)
        return (
          toModuleOrigin(request, mount, appsDomain, authCtx.origin) ??
          toModule(request, srv, mount, true)
        );
    }
    if (!mount) return toHub(request, srv, path);
    return toModule(request, srv, mount, isolation.has(mount.name));
  };
  state.ready = true;
  writeRuntime(config.home, { ...runtime, origin: auth.ctx.origin });
  log.info(`ready in ${(performance.now() - startedAt).toFixed(0)} ms (home ${config.home})`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // A running install or upgrade ends first (its `bun` killed, its work
      // undone), so nothing writes to the home once the lock is released.
      const operationEnded = modules.manager.stop();
      // A backup cut short is failed at the next boot; its scratch is removed then.
      backups.stop();
      visitorPools.closeAll();
      // Modules next, all at once, each SIGTERM -> SIGKILL within its grace.
      await modules.supervisor.stopAll();
      await operationEnded;
      const grace = config.shutdownGraceMs ?? 5000;
      const drained = server.stop(false);
      const timedOut = await Promise.race([
        drained.then(() => false),
        Bun.sleep(grace).then(() => true),
      ]);
      if (timedOut) await server.stop(true);
      auth.stop();
      removeRuntime(config.home);
      db.close();
      lock.release();
    })();
    return stopping;
  };
  return { port, url, stop };
}

/** Answers while the store is still opening: probes work, everything else says to retry. */
function bootingHandler(state: BootState): FetchHandler {
  return (request) => {
    const probe = probeResponse(request, pathOf(request.url), state);
    if (probe) return probe;
    if (wantsPage(request)) {
      // Seconds at most (the store opening, keys, modules): the page reloads itself.
      return hubPage({
        status: 503,
        eyebrow: '503 · Starting',
        tone: 'warning',
        title: 'The hub is starting',
        paragraphs: [
          'It is opening its database and starting its modules. This page reloads by itself.',
        ],
        refreshSeconds: 2,
        headers: { 'retry-after': '1' },
      });
    }
    return Response.json(errorBody('starting', 'The hub is starting; retry in a moment.'), {
      status: 503,
      headers: { 'retry-after': '1' },
    });
  };
}

function pingDb(db: Database): boolean {
  try {
    db.query('SELECT 1').get();
    return true;
  } catch {
    return false;
  }
}

function formatHost(hostname: string): string {
  return hostname.includes(':') ? `[${hostname}]` : hostname;
}

// Boot is mostly synchronous work (SQLite, files); between its phases the
// event loop gets a turn, so probes that arrived meanwhile are answered.
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// The path of an absolute request URL, without building a URL object per request.
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  let end = url.indexOf('?', start);
  const hash = url.indexOf('#', start);
  if (end === -1 || (hash !== -1 && hash < end)) end = hash;
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/** The hub routes that take a large body, streamed under their own limit (modules/upload.ts, backup/import-routes.ts). */
// A literal, not import-routes.ts's constant: the routes load lazily (hub/lazy-app.ts).
const STREAMED_PATHS = new Set(['/api/modules/upload', '/api/hub/import']);

/** The hub's own APIs take small JSON; a body over this is refused before it is read. */
const HUB_BODY_LIMIT = 1024 * 1024;

/** A declared length over the limit: refused before a byte is read. */
function tooLarge(request: Request): Response | null {
  const length = Number(request.headers.get('content-length') ?? 0);
  return length > HUB_BODY_LIMIT ? payloadTooLarge() : null;
}

/**
 * A chunked body declares no length, and the server takes bodies of any
 * size (modules may stream gigabytes): read one for a hub route up to the
 * limit here, so no route ever buffers more, whoever sends it. The route
 * gets it as a request for `url` (hosts.ts routedUrl). Read from the
 * visitor's own request: a copy's stream, cancelled at the limit, left the
 * visitor's upload hanging.
 */
async function readBounded(request: Request, url: string): Promise<Request | Response> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of request.body as ReadableStream<Uint8Array>) {
      size += chunk.byteLength;
      // Leaving the loop cancels the rest of the body.
      if (size > HUB_BODY_LIMIT) return payloadTooLarge();
      chunks.push(chunk);
    }
  } catch {
    return Response.json(errorBody('invalid_request', 'The request body was cut off.'), {
      status: 400,
    });
  }
  const headers = new Headers(request.headers);
  headers.delete('transfer-encoding');
  return new Request(url, {
    method: request.method,
    headers,
    body: Buffer.concat(chunks),
    signal: request.signal,
  });
}

function payloadTooLarge(): Response {
  return Response.json(
    errorBody('payload_too_large', `The hub's APIs accept bodies up to ${HUB_BODY_LIMIT} bytes.`),
    { status: 413 },
  );
}
