/** One captured line of a module's output, as the API returns it. */
export interface LogLine {
  /** Unix milliseconds when the hub read it. */
  ts: number;
  stream: 'out' | 'err';
  line: string;
}

/** Complete lines read in one go from one stream, joined by '\n' (no trailing newline). */
export interface LogChunk {
  ts: number;
  stream: 'out' | 'err';
  text: string;
}

// Per-chunk overhead beyond the text, so many tiny chunks still count.
const CHUNK_OVERHEAD = 48;
const EMPTY: LogChunk = { ts: 0, stream: 'out', text: '' };

/**
 * A module's recent output, bounded in bytes, not lines, so a flood cannot
 * grow the hub. It stores what the pipe delivered as chunks of whole lines
 * and splits them only when someone reads: a module writing a million lines
 * costs the hub a few thousand allocations, not millions (bench/supervisor.ts).
 * It belongs to the module, not the process: it survives restarts, so the
 * lines that explain a crash are still there.
 */
export class LogBuffer {
  // Slots before `head` were dropped and hold EMPTY, so their text is freed
  // at once (a pipe read can be 64 KiB: a thousand stale slots would pin 64 MiB).
  private chunks: LogChunk[] = [];
  private head = 0;
  private bytes = 0;
  private readonly listeners = new Set<(lines: LogLine[]) => void>();

  constructor(readonly maxBytes = 256 * 1024) {}

  /** Adds one line. */
  push(line: LogLine): void {
    this.pushChunk({ ts: line.ts, stream: line.stream, text: line.line });
  }

  /** Adds a chunk of whole lines. */
  pushChunk(chunk: LogChunk): void {
    this.chunks.push(chunk);
    this.bytes += chunk.text.length + CHUNK_OVERHEAD;
    while (this.bytes > this.maxBytes && this.head < this.chunks.length - 1) {
      const dropped = this.chunks[this.head] as LogChunk;
      this.chunks[this.head++] = EMPTY;
      this.bytes -= dropped.text.length + CHUNK_OVERHEAD;
    }
    if (this.bytes > this.maxBytes) this.trimNewest();
    // Compact now and then instead of shifting on every push.
    if (this.head > 256 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    if (this.listeners.size > 0) {
      const lines = toLines(chunk);
      for (const listener of this.listeners) listener(lines);
    }
  }

  /** The last `n` lines (all when n is undefined), oldest first. */
  tail(n?: number): LogLine[] {
    const out: LogLine[][] = [];
    let count = 0;
    for (let i = this.chunks.length - 1; i >= this.head; i--) {
      const lines = toLines(this.chunks[i] as LogChunk);
      out.push(lines);
      count += lines.length;
      if (n !== undefined && count >= n) break;
    }
    const all = out.reverse().flat();
    return n === undefined ? all : all.slice(Math.max(0, all.length - n));
  }

  /** Calls `listener` with every new batch of lines until the returned function is called. */
  subscribe(listener: (lines: LogLine[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): { lines: number; bytes: number } {
    let lines = 0;
    for (let i = this.head; i < this.chunks.length; i++)
      lines += toLines(this.chunks[i] as LogChunk).length;
    return { lines, bytes: this.bytes };
  }

  // A single chunk larger than the whole buffer keeps only its newest lines.
  private trimNewest(): void {
    const last = this.chunks[this.chunks.length - 1] as LogChunk;
    const keep = this.maxBytes - CHUNK_OVERHEAD;
    const cut = last.text.indexOf('\n', last.text.length - keep);
    const text = cut === -1 ? last.text.slice(-keep) : last.text.slice(cut + 1);
    this.bytes -= last.text.length - text.length;
    this.chunks[this.chunks.length - 1] = { ...last, text };
  }
}

function toLines(chunk: LogChunk): LogLine[] {
  return chunk.text.split('\n').map((line) => ({ ts: chunk.ts, stream: chunk.stream, line }));
}
