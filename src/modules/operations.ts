/** A module operation (install, upgrade, uninstall) as the API shows it. */
export interface Operation {
  id: string;
  /** `vault-create`, `vault-remove`: POST /vaults and DELETE /vaults/:name (modules/vaults-routes.ts). */
  kind: 'install' | 'upgrade' | 'uninstall' | 'vault-create' | 'vault-remove';
  /** The package spec or module name it works on. */
  target: string;
  state: 'running' | 'succeeded' | 'failed';
  lines: { ts: number; line: string }[];
  error?: string;
  /** Why it failed, for a client to act on: `no_manifest` (the package ships no module.json; install it again with one). */
  error_code?: string;
  /** The module's name once known. */
  module?: string;
  started_at: string;
  finished_at?: string;
}

const KEEP_FINISHED = 50;
const MAX_LINES = 2000;

/** Refused because another operation holds the install root; the API answers 409 naming it. */
export class OperationInProgressError extends Error {
  override name = 'OperationInProgressError';

  constructor(readonly running: Operation) {
    super(
      `another module operation is running (${running.kind} of ${running.module ?? running.target}, operation ${running.id}); module operations run one at a time, so try again when it has finished`,
    );
  }
}

/**
 * Operations in memory: each has an id, progress lines and listeners for
 * streaming. They run one at a time hub-wide (modules.md section 3): install,
 * upgrade and uninstall all change the one install root ($PARACHUTE_HOME/
 * modules, its package.json and node_modules), and two `bun add`s at once
 * there overwrite each other's work.
 */
export class Operations {
  private readonly all = new Map<string, Operation>();
  private readonly listeners = new Map<string, Set<(op: Operation, line?: string) => void>>();
  /** The operation that holds the install root, if one does. */
  private current: Operation | null = null;

  /** The operation running now, if one is. */
  get running(): Operation | null {
    return this.current;
  }

  /** The running operation, if it works on module `name` (its start/stop/restart are refused meanwhile). */
  runningOn(name: string): Operation | null {
    const op = this.current;
    return op && (op.target === name || op.module === name) ? op : null;
  }

  /**
   * Starts `work` as an operation and returns it at once; `work` reports
   * through `progress`. Throws OperationInProgressError while another runs:
   * checking and taking the install root happen in one synchronous step, so
   * two requests can never both pass.
   */
  run(
    kind: Operation['kind'],
    target: string,
    work: (progress: (line: string) => void, op: Operation) => Promise<void>,
  ): Operation {
    if (this.current) throw new OperationInProgressError(this.current);
    const op: Operation = {
      id: crypto.randomUUID(),
      kind,
      target,
      state: 'running',
      lines: [],
      started_at: new Date().toISOString(),
    };
    this.current = op;
    this.all.set(op.id, op);
    const progress = (line: string) => {
      if (op.lines.length < MAX_LINES) op.lines.push({ ts: Date.now(), line });
      this.emit(op, line);
    };
    work(progress, op).then(
      () => this.finish(op, 'succeeded'),
      (error: unknown) => {
        op.error = error instanceof Error ? error.message : String(error);
        // Only the installer's own codes (InstallError), never a system error's ENOENT.
        const code = error instanceof Error && error.name === 'InstallError' ? error : undefined;
        if (code && 'code' in code && typeof code.code === 'string') op.error_code = code.code;
        progress(`failed: ${op.error}`);
        this.finish(op, 'failed');
      },
    );
    return op;
  }

  get(id: string): Operation | undefined {
    return this.all.get(id);
  }

  /** Resolves with the operation once it has ended. */
  settled(op: Operation): Promise<Operation> {
    if (op.state !== 'running') return Promise.resolve(op);
    return new Promise((resolve) => {
      const stop = this.subscribe(op.id, (current) => {
        if (current.state === 'running') return;
        stop();
        resolve(current);
      });
    });
  }

  /** Calls `listener` on every new line and once when the operation ends. */
  subscribe(id: string, listener: (op: Operation, line?: string) => void): () => void {
    const set = this.listeners.get(id) ?? new Set();
    set.add(listener);
    this.listeners.set(id, set);
    return () => set.delete(listener);
  }

  private emit(op: Operation, line?: string): void {
    for (const listener of this.listeners.get(op.id) ?? []) listener(op, line);
  }

  private finish(op: Operation, state: 'succeeded' | 'failed'): void {
    op.state = state;
    op.finished_at = new Date().toISOString();
    if (this.current === op) this.current = null;
    this.emit(op);
    this.listeners.delete(op.id);
    const finished = [...this.all.values()].filter((o) => o.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)))
      this.all.delete(old.id);
  }
}
