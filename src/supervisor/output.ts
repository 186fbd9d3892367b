// A line longer than this is split: one runaway line must not hold the
// buffer hostage or grow the hub.
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Reads a child's stdout or stderr to the end. `onText` gets, per read,
 * every complete line that arrived, joined by '\n' without the trailing
 * newline: one string per pipe read rather than one per line.
 */
export async function pumpText(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for await (const chunk of stream) {
      // Decode up to the last newline byte only (found natively): a flood's
      // reads then cost one decode each, with no string concatenation.
      const nl = chunk.lastIndexOf(10);
      if (nl === -1) {
        pending += decoder.decode(chunk, { stream: true });
        if (pending.length > MAX_LINE_CHARS) {
          onText(splitLong(pending));
          pending = '';
        }
        continue;
      }
      let text = decoder.decode(chunk.subarray(0, nl), { stream: true });
      if (pending) {
        text = pending + text;
        pending = '';
      }
      // CRLF endings lose their \r (the last line's \n was already cut off).
      onText(splitLong(text.includes('\r') ? text.replace(/\r(?=\n|$)/g, '') : text));
      if (nl + 1 < chunk.length) pending = decoder.decode(chunk.subarray(nl + 1), { stream: true });
    }
  } catch {
    // The pipe closed abruptly (child killed): whatever arrived is kept.
  }
  pending += decoder.decode();
  if (pending) onText(splitLong(pending));
}

/** Like pumpText, one call per line (install progress, where volume is small). */
export function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  return pumpText(stream, (text) => {
    for (const line of text.split('\n')) onLine(line);
  });
}

function splitLong(text: string): string {
  if (text.length <= MAX_LINE_CHARS || !hasLongLine(text)) return text;
  return text
    .split('\n')
    .map((line) =>
      line.length <= MAX_LINE_CHARS
        ? line
        : line.match(new RegExp(`[^]{1,${MAX_LINE_CHARS}}`, 'g'))?.join('\n'),
    )
    .join('\n');
}

// Jumps a whole line-length window at a time: a chunk of short lines costs a
// few native lastIndexOf calls, not one step per line (a 1 M-line flood).
function hasLongLine(text: string): boolean {
  let start = 0;
  while (text.length - start > MAX_LINE_CHARS) {
    const nl = text.lastIndexOf('\n', start + MAX_LINE_CHARS);
    if (nl < start) return true;
    start = nl + 1;
  }
  return false;
}
