import { findPortHolderDarwin } from './port-holder-darwin.ts';
import { findPortHolderLinux } from './port-holder-linux.ts';

/** The process listening on a TCP port, as far as this user is allowed to see it. */
export interface PortHolder {
  pid: number;
  command: string;
}

/**
 * Who is listening on `port`, or null when nobody is or the holder belongs to
 * a user whose processes we cannot inspect. Never signals anything.
 */
export async function findPortHolder(port: number): Promise<PortHolder | null> {
  try {
    if (process.platform === 'linux') return await findPortHolderLinux(port);
    if (process.platform === 'darwin') return await findPortHolderDarwin(port);
  } catch {
    // Best effort: a missing /proc or lsof must not turn a clear error into a crash.
  }
  return null;
}

/** The shell command that shows who holds `port` on this platform. */
export function portHolderCommand(port: number): string {
  return process.platform === 'darwin'
    ? `lsof -nP -iTCP:${port} -sTCP:LISTEN`
    : `ss -ltnp 'sport = :${port}'`;
}
