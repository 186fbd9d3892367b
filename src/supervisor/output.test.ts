import { expect, test } from 'bun:test';
import { MAX_LINE_CHARS, pumpLines } from './output.ts';

function streamOf(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts)
        controller.enqueue(typeof p === 'string' ? new TextEncoder().encode(p) : p);
      controller.close();
    },
  });
}

test('lines split across reads, CRLF, a missing final newline and multi-byte characters split mid-read', async () => {
  const euro = new TextEncoder().encode('€'); // 3 bytes
  const lines: string[] = [];
  await pumpLines(
    streamOf(
      'alpha\nbe',
      'ta\r\ngam',
      euro.subarray(0, 1),
      euro.subarray(1),
      'ma\n',
      'tail without newline',
    ),
    (l) => lines.push(l),
  );
  expect(lines).toEqual(['alpha', 'beta', 'gam€ma', 'tail without newline']);
});

test('a runaway line is cut into pieces of at most MAX_LINE_CHARS', async () => {
  const lines: string[] = [];
  await pumpLines(streamOf(`${'x'.repeat(MAX_LINE_CHARS * 2 + 5)}\nnext\n`), (l) => lines.push(l));
  expect(lines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, 5, 4]);
});
