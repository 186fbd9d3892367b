import { expect, test } from 'bun:test';
import { findPortHolder } from './port-holder.ts';

const LISTENER =
  "const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() }); console.log(s.port);";

test('names the pid and command line of the process listening on a port', async () => {
  const holder = Bun.spawn([process.execPath, '-e', LISTENER], { stdout: 'pipe' });
  try {
    const reader = holder.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    const found = await findPortHolder(port);
    expect(found?.pid).toBe(holder.pid);
    expect(found?.command).toContain('Bun.serve');
  } finally {
    holder.kill();
    await holder.exited;
  }
});

test('a port nobody listens on has no holder', async () => {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  expect(await findPortHolder(port)).toBeNull();
});
