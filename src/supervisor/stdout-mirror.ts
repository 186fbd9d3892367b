import type { LogChunk } from './log-buffer.ts';

/**
 * Echoes module output to the hub's stdout as `[name] line` (journald and
 * launchd keep it). Whole chunks are prefixed with one native replaceAll and
 * written once per event-loop turn; while the previous write is still being
 * flushed (a slow journal, a flooding child), new output is counted and
 * dropped instead of queued, so neither memory nor the event loop is held
 * hostage. Every line is still in the module's ring buffer.
 */
export class StdoutMirror {
  private batch: string[] = [];
  private scheduled = false;
  private flushing = false;
  private droppedBytes = 0;
  private readonly sink = Bun.stdout.writer({ highWaterMark: 256 * 1024 });

  write(name: string, chunk: LogChunk): void {
    if (this.flushing) {
      this.droppedBytes += chunk.text.length;
      return;
    }
    const prefix = `[${name}] `;
    this.batch.push(`${prefix}${chunk.text.replaceAll('\n', `\n${prefix}`)}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.droppedBytes > 0) {
      const kib = Math.ceil(this.droppedBytes / 1024);
      this.batch.unshift(
        `[hub] ${kib} KiB of module output was not echoed here (output too fast); see the module's log\n`,
      );
      this.droppedBytes = 0;
    }
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
