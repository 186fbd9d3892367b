import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { hubPaths } from './paths.ts';

/** What a running hub tells local CLI verbs about itself: run/hub.json. */
export interface HubRuntime {
  pid: number;
  port: number;
  hostname: string;
  /** The issuer origin; absent while the hub is still booting. */
  origin?: string;
  /** `fly-boot` when the Fly launcher runs it (and restarts it on SIGUSR2, exit 75). */
  launcher?: string;
  started_at: string;
}

const fileOf = (home: string) => join(hubPaths(home).run, 'hub.json');

/** Written as soon as the hub holds its home and its port, again with the origin once it is ready. */
export function writeRuntime(home: string, runtime: HubRuntime): void {
  writeFileAtomic(fileOf(home), `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o600 });
}

/** Removed at clean shutdown (and ignored when its pid is gone after a crash). */
export function removeRuntime(home: string): void {
  rmSync(fileOf(home), { force: true });
}

/** The running hub of this PARACHUTE_HOME, or null when none is running. */
export function readRuntime(home: string): HubRuntime | null {
  const path = fileOf(home);
  if (!existsSync(path)) return null;
  try {
    const runtime = JSON.parse(readFileSync(path, 'utf8')) as HubRuntime;
    process.kill(runtime.pid, 0);
    return runtime;
  } catch {
    return null;
  }
}
