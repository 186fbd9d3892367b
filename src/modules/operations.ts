/** A long-running module operation (install, upgrade) as the API shows it. */
export interface Operation {
  id: string;
  kind: 'install' | 'upgrade';
  /** The package spec or module name it works on. */
  target: string;
  state: 'running' | 'succeeded' | 'failed';
  lines: { ts: number; line: string }[];
  error?: string;
  /** The module's name once known. */
  module?: string;
  started_at: string;
  finished_at?: string;
}

const KEEP_FINISHED = 50;
const MAX_LINES = 2000;

/** Operations in memory: each has an id, progress lines and listeners for streaming. */
export class Operations {
  private readonly all = new Map<string, Operation>();
  private readonly listeners = new Map<string, Set<(op: Operation, line?: string) => void>>();

  /** True while an operation on `target` is running (one at a time per module). */
  busy(target: string): boolean {
    return [...this.all.values()].some(
      (op) => op.state === 'running' && (op.target === target || op.module === target),
    );
  }

  /** Starts `work` as an operation and returns it at once; `work` reports through `progress`. */
  run(
    kind: Operation['kind'],
    target: string,
    work: (progress: (line: string) => void, op: Operation) => Promise<void>,
  ): Operation {
    const op: Operation = {
      id: crypto.randomUUID(),
      kind,
      target,
      state: 'running',
      lines: [],
      started_at: new Date().toISOString(),
    };
    this.all.set(op.id, op);
    const progress = (line: string) => {
      if (op.lines.length < MAX_LINES) op.lines.push({ ts: Date.now(), line });
      this.emit(op, line);
    };
    work(progress, op).then(
      () => this.finish(op, 'succeeded'),
      (error: Error) => {
        op.error = error.message;
        progress(`failed: ${error.message}`);
        this.finish(op, 'failed');
      },
    );
    return op;
  }

  get(id: string): Operation | undefined {
    return this.all.get(id);
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
    this.emit(op);
    this.listeners.delete(op.id);
    const finished = [...this.all.values()].filter((o) => o.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)))
      this.all.delete(old.id);
  }
}
