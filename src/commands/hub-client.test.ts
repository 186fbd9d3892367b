import { expect, test } from 'bun:test';
import { readSse } from './hub-client.ts';

/** A body delivered in the given chunks, as a network would split it. */
const body = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });

const collect = async (stream: ReadableStream<Uint8Array>) => {
  const events = [];
  for await (const e of readSse(stream)) events.push(e);
  return events;
};

test.each([
  [['event: line\ndata: {"a":1}\n\n'], [{ event: 'line', data: '{"a":1}' }]],
  // Split mid-line and mid-field; CRLF line ends; keep-alive comments between events.
  [
    ['event: li', 'ne\r\ndata: x\r\n', '\r\n: keep-alive\n\nevent: done\ndata:y\n\n'],
    [
      { event: 'line', data: 'x' },
      { event: 'done', data: 'y' },
    ],
  ],
  // Unnamed events are `message`; several data lines join with newlines.
  [['data: a\ndata: b\n\n'], [{ event: 'message', data: 'a\nb' }]],
  // An event cut off by the end of the stream is not delivered.
  [['event: line\ndata: partial\n'], []],
])('%p parses', async (chunks, events) => {
  expect(await collect(body(...chunks))).toEqual(events);
});
