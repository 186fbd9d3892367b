// Comment lines keep idle streams alive through proxies and the server's idle timeout.
const HEARTBEAT_MS = 15_000;

/** Sends one event; returns false once the client has gone. */
export type SendEvent = (event: string, data: unknown) => boolean;

/**
 * A text/event-stream response. `start` gets a sender and a close function
 * and returns its cleanup, which runs when the client disconnects or the
 * stream is closed.
 */
export function sseResponse(start: (send: SendEvent, close: () => void) => () => void): Response {
  const encoder = new TextEncoder();
  let cleanup: (() => void) | undefined;
  let heartbeat: Timer | undefined;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        cleanup?.();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      const send: SendEvent = (event, data) => {
        if (closed) return false;
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
          return true;
        } catch {
          finish();
          return false;
        }
      };
      heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(': keep-alive\n\n'));
      }, HEARTBEAT_MS);
      cleanup = start(send, finish);
      if (closed) cleanup?.();
    },
    cancel() {
      closed = true;
      clearInterval(heartbeat);
      cleanup?.();
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  });
}
