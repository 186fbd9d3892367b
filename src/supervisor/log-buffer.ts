/** One captured line of a module's output. */
export interface LogLine {
  /** Unix milliseconds when the hub read it. */
  ts: number;
  stream: 'out' | 'err';
  line: string;
}

// Per-entry overhead beyond the text, so many empty lines still count.
const ENTRY_OVERHEAD = 32;

/**
 * A module's recent output, bounded in bytes, not lines, so a flood of long
 * lines cannot grow the hub. It belongs to the module, not the process: it
 * survives restarts, so the lines that explain a crash are still there.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private head = 0;
  private bytes = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(readonly maxBytes = 256 * 1024) {}

  push(line: LogLine): void {
    this.lines.push(line);
    this.bytes += line.line.length + ENTRY_OVERHEAD;
    while (this.bytes > this.maxBytes && this.head < this.lines.length - 1) {
      const dropped = this.lines[this.head++] as LogLine;
      this.bytes -= dropped.line.length + ENTRY_OVERHEAD;
    }
    // Compact now and then instead of shifting on every push.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    for (const listener of this.listeners) listener(line);
  }

  /** The last `n` lines (all when n is undefined), oldest first. */
  tail(n?: number): LogLine[] {
    const all = this.lines.slice(this.head);
    return n === undefined ? all : all.slice(Math.max(0, all.length - n));
  }

  /** Calls `listener` for every new line until the returned function is called. */
  subscribe(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): { lines: number; bytes: number } {
    return { lines: this.lines.length - this.head, bytes: this.bytes };
  }
}
