import type { LogLine } from './log-buffer.ts';

/**
 * Echoes module lines to the hub's stdout as `[name] line` (journald and
 * launchd keep them). Writes are batched per event-loop turn; while the
 * previous batch is still being flushed (a slow journal, a flooding child),
 * new lines are counted and dropped instead of queued, so neither memory
 * nor the event loop is held hostage. Every line is still in the module's
 * ring buffer.
 */
export class StdoutMirror {
  private batch: string[] = [];
  private scheduled = false;
  private flushing = false;
  private dropped = 0;
  private readonly sink = Bun.stdout.writer({ highWaterMark: 256 * 1024 });

  write(name: string, line: LogLine): void {
    if (this.flushing) {
      this.dropped++;
      return;
    }
    this.batch.push(`[${name}] ${line.line}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.dropped > 0) {
      this.batch.unshift(
        `[hub] ${this.dropped} module log lines were not echoed here (output too fast); see each module's log\n`,
      );
      this.dropped = 0;
    }
    const text = this.batch.join('');
    this.batch = [];
    this.sink.write(text);
    const pending = this.sink.flush();
    if (pending instanceof Promise) {
      this.flushing = true;
      pending.then(
        () => {
          this.flushing = false;
        },
        () => {
          this.flushing = false;
        },
      );
    }
  }
}
