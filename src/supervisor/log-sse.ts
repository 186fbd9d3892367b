import { sseResponse } from '../platform/sse.ts';
import type { LogBuffer } from './log-buffer.ts';

/**
 * Follows a log buffer as server-sent events: its last `tail` lines, then
 * new ones. One `line` event per line by default (the CLI's shape); with
 * `batch`, one `lines` event per array of lines as the buffer took them,
 * so a browser following a million-line flood handles a thousand events,
 * not a million (each event is a main-thread task there).
 */
export function followLog(buffer: LogBuffer, tail: number | undefined, batch: boolean): Response {
  return sseResponse((send) => {
    const history = buffer.tail(tail);
    if (batch) {
      if (history.length > 0) send('lines', history);
      return buffer.subscribe((lines) => {
        send('lines', lines);
      });
    }
    for (const line of history) send('line', line);
    return buffer.subscribe((lines) => {
      for (const line of lines) send('line', line);
    });
  });
}
