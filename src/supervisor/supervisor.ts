import { type Child, signalChild, stopChild } from './child-group.ts';
import type { ChildrenFile } from './children-file.ts';
import { LogBuffer, type LogChunk, type LogLine } from './log-buffer.ts';
import { pumpText } from './output.ts';
import { preflight, type StartProblem } from './preflight.ts';
import { type ProcessGroups, processGroups, processStartTime } from './process-group.ts';
import { waitUntilListening } from './readiness.ts';
import { hasProcess, type ModuleState, transition } from './states.ts';

/** What the supervisor needs to run one module. */
export interface ModuleSpec {
  name: string;
  port: number;
  /** argv with `${PORT}` already replaced; null = the module is never spawned. */
  argv: string[] | null;
  cwd: string;
  /** The child's environment; a function is called at every spawn (fresh .env, current origin). */
  env: Record<string, string> | (() => Record<string, string>);
  /** Where argv[0] may live besides PATH (the package's node_modules/.bin). */
  binDirs: string[];
  readyTimeoutMs?: number;
}

/** Supervisor knobs, each with its unit (style.md 5). */
export interface SupervisorKnobs {
  /** How long a spawned child may take to accept connections before it is `unbound`. */
  readyTimeoutMs: number;
  /** First restart delay after a crash; doubles per crash. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Crashes inside crashWindowMs that end in `crashed`. */
  crashBudget: number;
  crashWindowMs: number;
  /** Up this long and the crash budget starts over. */
  stableAfterMs: number;
  /** SIGTERM to SIGKILL. */
  stopGraceMs: number;
  /** After SIGKILL, how long to wait for the group to be gone before reporting it unreaped. */
  killWaitMs: number;
  logBufferBytes: number;
}

export const DEFAULT_KNOBS: SupervisorKnobs = {
  readyTimeoutMs: 10_000,
  backoffBaseMs: 250,
  backoffMaxMs: 30_000,
  crashBudget: 3,
  crashWindowMs: 60_000,
  stableAfterMs: 60_000,
  stopGraceMs: 5_000,
  killWaitMs: 2_000,
  logBufferBytes: 256 * 1024,
};

/** Why a module is not running, for the API, the CLI and the SPA alike. */
export interface ModuleError {
  reason: StartProblem['reason'] | 'crashed' | 'unbound' | 'exited' | 'unreaped';
  message: string;
  exitCode?: number | null;
  signal?: string | null;
  lastLines?: LogLine[];
  at: string;
}

/** A module as the API shows it. */
export interface ModuleStatus {
  name: string;
  state: ModuleState;
  pid: number | null;
  port: number;
  uptimeMs: number | null;
  restarts: number;
  lastError: ModuleError | null;
}

class Supervised {
  state: ModuleState = 'stopped';
  child: Child | null = null;
  startedAt = 0;
  restarts = 0;
  crashes: number[] = [];
  lastError: ModuleError | null = null;
  backoffTimer: Timer | null = null;
  /** Bumped on every spawn and stop: events from an older generation are ignored. */
  generation = 0;
  /** One operation at a time per module (modules.md section 5, no races). */
  queue: Promise<unknown> = Promise.resolve();
  readonly logs: LogBuffer;

  constructor(
    public spec: ModuleSpec,
    logBytes: number,
  ) {
    this.logs = new LogBuffer(logBytes);
  }

  get name() {
    return this.spec.name;
  }
}

/**
 * Runs modules as child processes (modules.md section 5): the only code in
 * the hub that spawns or signals a process.
 */
export class Supervisor {
  private readonly modules = new Map<string, Supervised>();
  private readonly listeners = new Set<(name: string) => void>();
  private closing = false;
  readonly knobs: SupervisorKnobs;

  constructor(
    private readonly children: ChildrenFile,
    private readonly mirror: (name: string, chunk: LogChunk) => void,
    knobs: Partial<SupervisorKnobs> = {},
    private readonly groups: ProcessGroups = processGroups,
  ) {
    this.knobs = { ...DEFAULT_KNOBS, ...knobs };
  }

  /**
   * Calls `listener` with a module's name after each of its state changes
   * (and when it is registered or forgotten): the admin's live list.
   * Returns the unsubscribe.
   */
  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds or updates a module's spec; takes effect at its next spawn. */
  register(spec: ModuleSpec): void {
    const existing = this.modules.get(spec.name);
    if (existing) existing.spec = spec;
    else this.modules.set(spec.name, new Supervised(spec, this.knobs.logBufferBytes));
    this.changed(spec.name);
  }

  /** Stops a module and forgets it (uninstall). */
  async unregister(name: string): Promise<void> {
    await this.stop(name);
    this.modules.delete(name);
    this.changed(name);
  }

  private move(m: Supervised, to: ModuleState): void {
    transition(m, to);
    this.changed(m.name);
  }

  private changed(name: string): void {
    for (const listener of this.listeners) {
      try {
        listener(name);
      } catch {
        // a listener's failure is its own; the supervisor carries on
      }
    }
  }

  has(name: string): boolean {
    return this.modules.has(name);
  }

  names(): string[] {
    return [...this.modules.keys()];
  }

  status(name: string): ModuleStatus {
    const m = this.get(name);
    return {
      name,
      state: m.state,
      pid: hasProcess(m.state) ? (m.child?.pid ?? null) : null,
      port: m.spec.port,
      uptimeMs:
        m.state === 'running' || m.state === 'unbound'
          ? Math.round(performance.now() - m.startedAt)
          : null,
      restarts: m.restarts,
      lastError: m.lastError,
    };
  }

  /** Just the state: what the proxy checks on every request (status() builds a whole report). */
  stateOf(name: string): ModuleState {
    return this.get(name).state;
  }

  logs(name: string): LogBuffer {
    return this.get(name).logs;
  }

  /** Starts a module (an operator start also resets its crash budget); resolves with its state. */
  start(name: string): Promise<ModuleState> {
    const m = this.get(name);
    return this.enqueue(m, () => this.startNow(m));
  }

  /** Stops a module: SIGTERM to its group, SIGKILL after stopGraceMs, always awaiting the exit. */
  stop(name: string): Promise<ModuleState> {
    const m = this.get(name);
    return this.enqueue(m, () => this.stopNow(m));
  }

  /**
   * Stop then start as one operation, so nothing queued meanwhile runs in
   * between; a module that was not running is simply started.
   */
  restart(name: string): Promise<ModuleState> {
    const m = this.get(name);
    return this.enqueue(m, async () => {
      this.refuseDuringShutdown(m);
      await this.stopNow(m);
      return this.startNow(m);
    });
  }

  /** True once stopAll() began: from then on nothing is spawned (the API answers 503). */
  get shuttingDown(): boolean {
    return this.closing;
  }

  /**
   * Stops every module in parallel (hub shutdown); each stop is bounded by
   * stopGraceMs + killWaitMs. Starts asked for from now on are refused.
   */
  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.all(this.names().map((name) => this.stop(name)));
  }

  private get(name: string): Supervised {
    const m = this.modules.get(name);
    if (!m) throw new Error(`unknown module ${name}`);
    return m;
  }

  private enqueue<T>(m: Supervised, op: () => Promise<T>): Promise<T> {
    const run = m.queue.then(op, op);
    m.queue = run.catch(() => {});
    return run;
  }

  private cancelBackoff(m: Supervised): void {
    if (m.backoffTimer) clearTimeout(m.backoffTimer);
    m.backoffTimer = null;
  }

  private async startNow(m: Supervised): Promise<ModuleState> {
    if (m.state === 'running' || m.state === 'starting' || m.state === 'unbound') return m.state;
    this.refuseDuringShutdown(m);
    this.cancelBackoff(m);
    m.crashes = [];
    await this.spawn(m);
    return m.state;
  }

  private async stopNow(m: Supervised): Promise<ModuleState> {
    this.cancelBackoff(m);
    if (m.state === 'crashed') this.move(m, 'stopped');
    if (m.state === 'stopped') return m.state;
    this.move(m, 'stopping');
    m.generation++;
    // Backoff has no child left to stop: terminate() does nothing then.
    await this.terminate(m);
    this.move(m, 'stopped');
    return m.state;
  }

  /** Throws once shutdown began: a start then would outlive stopAll() (an orphan by design). */
  private refuseDuringShutdown(m: Supervised): void {
    if (this.closing) {
      throw new ShuttingDownError(
        `the hub is shutting down; ${m.name} is not started until the hub runs again`,
      );
    }
  }

  /** The one place a module's process is started. */
  private async spawn(m: Supervised): Promise<void> {
    this.refuseDuringShutdown(m);
    const problem = await preflight(m.spec);
    if (problem) {
      m.lastError = { ...problem, at: new Date().toISOString() };
      this.note(m, `not started: ${problem.message}`);
      if (m.state !== 'crashed') this.move(m, 'crashed');
      return;
    }
    const generation = ++m.generation;
    let child: Child;
    try {
      child = this.spawnChild(m, generation);
    } catch (error) {
      m.lastError = {
        reason: 'missing_dependency',
        message: `${m.name} could not be started: ${(error as Error).message}`,
        at: new Date().toISOString(),
      };
      this.note(m, m.lastError.message);
      if (m.state !== 'crashed') this.move(m, 'crashed');
      return;
    }
    m.child = child;
    m.startedAt = performance.now();
    this.move(m, 'starting');
    this.children.add({
      name: m.name,
      pid: child.pid,
      pgid: child.pid,
      startTime: processStartTime(child.pid),
    });
    const push = (stream: LogChunk['stream']) => (text: string) => {
      const chunk = { ts: Date.now(), stream, text };
      m.logs.pushChunk(chunk);
      this.mirror(m.name, chunk);
    };
    void pumpText(child.stdout, push('out'));
    void pumpText(child.stderr, push('err'));
    void this.gate(m, generation);
  }

  private spawnChild(m: Supervised, generation: number): Child {
    const child = Bun.spawn(m.spec.argv as string[], {
      cwd: m.spec.cwd,
      env: typeof m.spec.env === 'function' ? m.spec.env() : m.spec.env,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      // Its own process group: signals reach wrappers and grandchildren alike.
      detached: true,
      onExit: (_proc, exitCode, signalCode) => {
        void this.enqueue(m, () =>
          this.handleExit(
            m,
            generation,
            child.pid,
            exitCode,
            signalCode == null ? null : String(signalCode),
          ),
        );
      },
    });
    return child;
  }

  /** The readiness gate, after every spawn (boot, operator start, crash restart). */
  private async gate(m: Supervised, generation: number): Promise<void> {
    const current = () =>
      m.generation !== generation || (m.state !== 'starting' && m.state !== 'unbound');
    const timeoutMs = m.spec.readyTimeoutMs ?? this.knobs.readyTimeoutMs;
    let result = await waitUntilListening(m.spec.port, { timeoutMs, isCancelled: current });
    if (result === 'timeout') {
      await this.enqueue(m, async () => {
        if (current()) return;
        this.move(m, 'unbound');
        m.lastError = {
          reason: 'unbound',
          message: `${m.name} is running but has not accepted connections on port ${m.spec.port} after ${timeoutMs} ms; it must listen on PORT`,
          at: new Date().toISOString(),
        };
        this.note(m, m.lastError.message);
      });
      // Keep watching: a slow module still becomes running when it binds.
      result = await waitUntilListening(m.spec.port, {
        timeoutMs: Number.POSITIVE_INFINITY,
        isCancelled: current,
      });
    }
    if (result === 'ready') {
      await this.enqueue(m, async () => {
        if (current()) return;
        this.move(m, 'running');
        // Serving again: an old error beside `running` misleads (the log keeps it).
        m.lastError = null;
      });
    }
  }

  private async handleExit(
    m: Supervised,
    generation: number,
    pid: number,
    exitCode: number | null,
    signal: string | null,
  ): Promise<void> {
    // A stop already owns this exit (it bumped the generation and awaits it).
    if (generation !== m.generation || m.state === 'stopping') return;
    // The leader is gone; anything it left in its group (a wrapped server)
    // goes too. After this the child is forgotten: nothing signals it again.
    const child = m.child;
    if (child) signalChild(this.groups, child, 'SIGKILL');
    m.child = null;
    this.children.delete(m.name, pid);
    const now = performance.now();
    if (now - m.startedAt >= this.knobs.stableAfterMs) m.crashes = [];
    m.crashes = [...m.crashes.filter((t) => now - t < this.knobs.crashWindowMs), now];
    const how = signal ? `signal ${signal}` : `exit code ${exitCode}`;
    m.lastError = {
      reason: 'exited',
      message: `${m.name} exited unexpectedly (${how})`,
      exitCode,
      signal,
      lastLines: m.logs.tail(20),
      at: new Date().toISOString(),
    };
    if (m.crashes.length >= this.knobs.crashBudget) {
      m.lastError.reason = 'crashed';
      m.lastError.message = `${m.name} crashed ${m.crashes.length} times within ${this.knobs.crashWindowMs / 1000} s (last: ${how}); start it again once fixed`;
      this.move(m, 'crashed');
      this.note(m, m.lastError.message);
      return;
    }
    this.move(m, 'backoff');
    const delay = Math.min(
      this.knobs.backoffBaseMs * 2 ** (m.crashes.length - 1),
      this.knobs.backoffMaxMs,
    );
    this.note(m, `${m.lastError.message}; restarting in ${delay} ms`);
    m.backoffTimer = setTimeout(() => {
      m.backoffTimer = null;
      void this.enqueue(m, async () => {
        // A start or stop in the meantime already decided what happens;
        // once shutdown began, stopAll() is about to stop it for good.
        if (m.state !== 'backoff' || this.closing) return;
        m.restarts++;
        await this.spawn(m);
      });
    }, delay);
  }

  /**
   * Stops the child (child-group.ts). A group still alive after SIGKILL
   * and killWaitMs is reported, and stays in children.json so the next
   * boot tries again (unless the module is started before that).
   */
  private async terminate(m: Supervised): Promise<void> {
    const child = m.child;
    if (!child) return;
    const stopped = await stopChild(this.groups, child, this.knobs, (line) => this.note(m, line));
    m.child = null;
    if (stopped) {
      this.children.delete(m.name, child.pid);
      return;
    }
    m.lastError = {
      reason: 'unreaped',
      message: `process group ${child.pid} of ${m.name} was still alive ${this.knobs.killWaitMs} ms after SIGKILL (a process stuck in the kernel, or one the hub may not signal); it may still hold port ${m.spec.port}. Find it with: ps -eo pid,pgid,stat,args | awk '$2 == ${child.pid}'`,
      at: new Date().toISOString(),
    };
    this.note(m, m.lastError.message);
  }

  private note(m: Supervised, message: string): void {
    const chunk: LogChunk = { ts: Date.now(), stream: 'err', text: `[hub] ${message}` };
    m.logs.pushChunk(chunk);
    this.mirror(m.name, chunk);
  }
}

/** A start refused because the hub is shutting down (the API answers 503 shutting_down). */
export class ShuttingDownError extends Error {
  override name = 'ShuttingDownError';
}
