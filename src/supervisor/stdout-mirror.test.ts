import { expect, test } from 'bun:test';

// The mirror writes to the process's own stdout, so it is tested in a child process.
const SCRIPT = `
import { StdoutMirror } from ${JSON.stringify(`${import.meta.dir}/stdout-mirror.ts`)};
const mirror = new StdoutMirror();
mirror.write('vault', { ts: 0, stream: 'out', text: 'first\\nsecond' });
const big = 'x'.repeat(1000);
// 20 MiB in one burst: far past the 4 MiB allowance.
for (let i = 0; i < 20 * 1024; i++) mirror.write('flood', { ts: 0, stream: 'out', text: big });
setTimeout(() => {}, 1500);
`;

test('prefixes every line, and past its allowance drops output with one note instead of echoing it all', async () => {
  const proc = Bun.spawn([process.execPath, '-e', SCRIPT], { stdout: 'pipe' });
  const out = await new Response(proc.stdout).text();
  const lines = out.split('\n');
  expect(lines.slice(0, 2)).toEqual(['[vault] first', '[vault] second']);
  const echoed = lines.filter((l) => l.startsWith('[flood] ')).length;
  expect(echoed).toBeGreaterThan(3000);
  expect(echoed).toBeLessThan(6000);
  const notes = lines.filter((l) => l.startsWith('[hub] ') && l.includes('not echoed'));
  expect(notes.length).toBeGreaterThanOrEqual(1);
  expect(notes.length).toBeLessThanOrEqual(3);
  const droppedKiB = notes.reduce((sum, n) => sum + Number(/(\d+) KiB/.exec(n)?.[1]), 0);
  // Everything not echoed is accounted for in the notes.
  expect(droppedKiB * 1024).toBeGreaterThanOrEqual((20 * 1024 - echoed) * 1000);
});
