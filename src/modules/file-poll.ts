import { statSync } from 'node:fs';

/**
 * Calls `onChange` when a file is replaced or rewritten, by comparing its
 * inode, size and mtime every `intervalMs`. Polled rather than fs.watch:
 * watchers miss the tmp + rename that writers of services.json use on some
 * filesystems (network and container mounts), and a stat is cheap.
 */
export class FilePoll {
  private timer: ReturnType<typeof setInterval> | null = null;
  private seen = '';

  constructor(
    readonly path: string,
    readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Starts polling; what the file is now counts as seen. Safe to call twice. */
  start(): void {
    if (this.timer) return;
    this.seen = this.signature();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    // Polling must never be what keeps the hub's process alive.
    this.timer.unref();
  }

  /** Stops polling. Safe to call before start() and more than once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    // Stat before the reader reads: a write landing in between changes the
    // signature again, so the next poll reads once more and nothing is missed.
    const now = this.signature();
    if (now === this.seen) return;
    this.seen = now;
    this.onChange();
  }

  private signature(): string {
    try {
      const s = statSync(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
