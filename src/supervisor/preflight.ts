import { accessSync, constants } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { portIsFree } from '../modules/ports.ts';
import { findPortHolder } from '../platform/port-holder.ts';
import type { ModuleSpec } from './supervisor.ts';

/** Why a module cannot be started right now. */
export interface StartProblem {
  reason: 'no_start_cmd' | 'missing_dependency' | 'port_held';
  message: string;
  holder?: { pid: number; command: string };
}

/**
 * Checks before spawning (modules.md section 5): there is a start command,
 * its program exists, and the module's port is free. A port held by someone
 * else is reported with the holder's pid and command line; the hub never
 * signals a process it did not start. On success, argv[0] is made absolute.
 */
export async function preflight(spec: ModuleSpec): Promise<StartProblem | null> {
  if (!spec.argv || spec.argv.length === 0) {
    return {
      reason: 'no_start_cmd',
      message: `${spec.name} has no startCmd; it is not run by the hub`,
    };
  }
  const program = spec.argv[0] as string;
  const resolved = resolveProgram(program, spec);
  if (!resolved) {
    return {
      reason: 'missing_dependency',
      message: `${spec.name} needs "${program}", which is not in its package's node_modules/.bin or on PATH; install it on this host (or reinstall the module) and start it again`,
    };
  }
  spec.argv[0] = resolved;
  if (!portIsFree(spec.port)) {
    const holder = await findPortHolder(spec.port);
    const who = holder ? `pid ${holder.pid} (${holder.command})` : 'a process this user cannot see';
    return {
      reason: 'port_held',
      message: `port ${spec.port} for ${spec.name} is held by ${who}; stop that process or give the module another port. The hub does not kill processes it did not start`,
      ...(holder ? { holder } : {}),
    };
  }
  return null;
}

/** argv[0] as the supervisor runs it: a path, else the package's bins, else PATH. */
export function resolveProgram(program: string, spec: ModuleSpec): string | null {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : join(spec.cwd, program);
    return executable(path) ? path : null;
  }
  for (const dir of spec.binDirs) {
    const path = join(dir, program);
    if (executable(path)) return path;
  }
  const env = typeof spec.env === 'function' ? spec.env() : spec.env;
  return Bun.which(program, { PATH: env.PATH ?? '' });
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
