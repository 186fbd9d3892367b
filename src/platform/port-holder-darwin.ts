import type { PortHolder } from './port-holder.ts';

/** Asks lsof (always present on macOS) for the listener's pid, then ps for its command line. */
export async function findPortHolderDarwin(port: number): Promise<PortHolder | null> {
  const lsof = Bun.spawn(['lsof', '-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-t'], {
    stdout: 'pipe',
    stderr: 'ignore',
  });
  const pid = Number((await new Response(lsof.stdout).text()).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const ps = Bun.spawn(['ps', '-o', 'command=', '-p', String(pid)], {
    stdout: 'pipe',
    stderr: 'ignore',
  });
  return { pid, command: (await new Response(ps.stdout).text()).trim() };
}
