import type { LogChunk } from './log-buffer.ts';

// journald keeps at most 10,000 messages per 30 s per service by default:
// echoing faster only burns CPU that the modules need. A burst of 4 MiB,
// then 1 MiB/s; the rest is counted and dropped (it is in the log buffer).
const BURST_BYTES = 4 * 1024 * 1024;
const BYTES_PER_SECOND = 1024 * 1024;

/**
 * Echoes module output to the hub's stdout as `[name] line` (journald and
 * launchd keep it). Whole chunks are prefixed with one native replaceAll and
 * written once per event-loop turn. Output beyond the rate above, or while
 * the previous write is still being flushed (a slow journal), is counted and
 * dropped instead of queued, so neither memory nor the event loop is held
 * hostage. Every line is still in the module's ring buffer.
 */
export class StdoutMirror {
  private batch: string[] = [];
  private scheduled = false;
  private flushing = false;
  private droppedBytes = 0;
  private tokens = BURST_BYTES;
  private refilledAt = performance.now();
  private notedAt = 0;
  private noteTimer: Timer | null = null;
  private readonly sink = Bun.stdout.writer({ highWaterMark: 256 * 1024 });

  write(name: string, chunk: LogChunk): void {
    const now = performance.now();
    this.tokens = Math.min(
      BURST_BYTES,
      this.tokens + ((now - this.refilledAt) / 1000) * BYTES_PER_SECOND,
    );
    this.refilledAt = now;
    if (this.flushing || this.tokens < chunk.text.length) {
      this.droppedBytes += chunk.text.length;
      if (!this.scheduled && !this.flushing) this.schedule();
      return;
    }
    this.tokens -= chunk.text.length;
    const prefix = `[${name}] `;
    this.batch.push(`${prefix}${chunk.text.replaceAll('\n', `\n${prefix}`)}\n`);
    if (!this.scheduled) this.schedule();
  }

  private schedule(): void {
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.droppedBytes > 0) {
      // At most one note a second, or the notes would flood instead; a timer
      // makes sure the last count is reported once the output calms down.
      const wait = 1000 - (performance.now() - this.notedAt);
      if (wait <= 0) {
        const kib = Math.ceil(this.droppedBytes / 1024);
        this.batch.unshift(
          `[hub] ${kib} KiB of module output was not echoed here (output too fast); see the module's log\n`,
        );
        this.droppedBytes = 0;
        this.notedAt = performance.now();
      } else if (!this.noteTimer) {
        this.noteTimer = setTimeout(() => {
          this.noteTimer = null;
          if (!this.scheduled) this.schedule();
        }, wait);
        this.noteTimer.unref();
      }
    }
    if (this.batch.length === 0) return;
    const text = this.batch.join('');
    this.batch = [];
    this.sink.write(text);
    const pending = this.sink.flush();
    if (pending instanceof Promise) {
      this.flushing = true;
      const done = () => {
        this.flushing = false;
      };
      pending.then(done, done);
    }
  }
}
