import { expect, test } from 'bun:test';
import { LogBuffer } from './log-buffer.ts';

test('bounded in bytes: old lines go first, the newest stay', () => {
  const buffer = new LogBuffer(10_000);
  for (let i = 0; i < 100_000; i++)
    buffer.push({ ts: i, stream: 'out', line: `line ${i} ${'x'.repeat(50)}` });
  expect(buffer.size.bytes).toBeLessThanOrEqual(10_000);
  const tail = buffer.tail();
  expect(tail.at(-1)?.line).toStartWith('line 99999 ');
  expect(tail.length).toBeGreaterThan(50);
  expect(tail.map((l) => l.ts)).toEqual([...tail.map((l) => l.ts)].sort((a, b) => a - b));
});

test('a single line larger than the buffer is still kept as the newest', () => {
  const buffer = new LogBuffer(100);
  buffer.push({ ts: 1, stream: 'err', line: 'y'.repeat(500) });
  expect(buffer.tail()).toHaveLength(1);
});

test('tail(n) and subscribers', () => {
  const buffer = new LogBuffer();
  const seen: string[] = [];
  const unsubscribe = buffer.subscribe((lines) => seen.push(...lines.map((l) => l.line)));
  for (const line of ['a', 'b', 'c']) buffer.push({ ts: 0, stream: 'out', line });
  unsubscribe();
  buffer.push({ ts: 0, stream: 'out', line: 'd' });
  expect(buffer.tail(2).map((l) => l.line)).toEqual(['c', 'd']);
  expect(seen).toEqual(['a', 'b', 'c']);
});

test('chunks of many lines are stored whole and read back line by line', () => {
  const buffer = new LogBuffer(1000);
  buffer.pushChunk({ ts: 5, stream: 'out', text: 'one\ntwo\nthree' });
  expect(buffer.tail(2)).toEqual([
    { ts: 5, stream: 'out', line: 'two' },
    { ts: 5, stream: 'out', line: 'three' },
  ]);
  // A chunk bigger than the whole buffer keeps its newest lines only.
  buffer.pushChunk({
    ts: 6,
    stream: 'err',
    text: Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n'),
  });
  expect(buffer.size.bytes).toBeLessThanOrEqual(1000);
  expect(buffer.tail(1)[0]?.line).toBe('line 499');
});
