// A line longer than this is split: one runaway line must not hold the
// buffer hostage or grow the hub.
export const MAX_LINE_CHARS = 16 * 1024;

/** Reads a child's stdout or stderr to the end, calling `onLine` for every line. */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  const emit = (text: string) => {
    for (let i = 0; i < text.length; i += MAX_LINE_CHARS) onLine(text.slice(i, i + MAX_LINE_CHARS));
  };
  try {
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
        emit(pending.slice(start, nl > start && pending[nl - 1] === '\r' ? nl - 1 : nl));
        start = nl + 1;
      }
      pending = pending.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        emit(pending);
        pending = '';
      }
    }
  } catch {
    // The pipe closed abruptly (child killed): whatever arrived is kept.
  }
  pending += decoder.decode();
  if (pending) emit(pending);
}
