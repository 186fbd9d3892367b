import { existsSync } from 'node:fs';
import { OperatorError } from '../platform/operator-error.ts';
import { resolveHome } from '../platform/paths.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { userManagerEnv } from '../platform/units/run.ts';
import { EXIT } from './command.ts';
import { launchdService } from './service-launchd.ts';
import { systemdService } from './service-systemd.ts';

export type HubVerb = 'start' | 'stop' | 'restart';

/** One command a service manager runs; `mayFail` steps are allowed to fail (e.g. already loaded). */
export interface ServiceStep {
  argv: string[];
  mayFail?: boolean;
}

/** The hub installed as a service: the unit file found, and how to drive it. */
export interface HubService {
  manager: 'systemd' | 'launchd';
  unit: string;
  steps(verb: HubVerb): ServiceStep[];
}

/** What a service variant may look at, so tests can give it a fake file system. */
export interface ServiceProbe {
  env: Record<string, string | undefined>;
  exists: (path: string) => boolean;
  uid: number | undefined;
}

const realProbe = (): ServiceProbe => ({
  env: process.env,
  exists: existsSync,
  uid: process.getuid?.(),
});

/** The installed service of the hub (`parachute unit install` writes one of these), or null. */
export function findService(probe: ServiceProbe = realProbe()): HubService | null {
  return systemdService(probe) ?? launchdService(probe);
}

/**
 * start/stop/restart of the hub itself goes through its service manager:
 * the manager owns the process (restarts on crash, starts at boot), so the
 * CLI never signals the hub directly.
 */
export async function controlHub(verb: HubVerb): Promise<number> {
  const service = findService();
  if (!service) throw noService(verb);
  for (const step of service.steps(verb)) {
    console.log(`$ ${step.argv.join(' ')}`);
    let code: number;
    try {
      // A step allowed to fail stays quiet: its failure is expected, not news.
      const out = step.mayFail ? 'ignore' : 'inherit';
      const proc = Bun.spawn(step.argv, {
        stdio: ['inherit', out, out],
        env: userManagerEnv(process.env),
      });
      code = await proc.exited;
    } catch (error) {
      throw new OperatorError(
        `could not run ${step.argv[0]}: ${(error as Error).message}`,
        `The hub is installed as a ${service.manager} service (${service.unit}), but ${step.argv[0]} is not on PATH.`,
      );
    }
    if (code !== 0 && !step.mayFail) {
      console.error(`parachute: \`${step.argv.join(' ')}\` failed (exit ${code}).`);
      return EXIT.failure;
    }
  }
  console.log(`hub: ${verb} done through ${service.manager}; check it with \`parachute status\``);
  return EXIT.ok;
}

function noService(verb: HubVerb): OperatorError {
  const running = readRuntime(resolveHome());
  if (verb === 'stop' && running) {
    return new OperatorError(
      `the hub (pid ${running.pid}) was started by hand, not as a service.`,
      'Stop it with Ctrl-C in its terminal, or `kill ' +
        running.pid +
        '` (SIGTERM stops it cleanly).',
    );
  }
  return new OperatorError(
    'no service is installed for the hub (no systemd unit, no launchd agent).',
    'Install it as a service with `parachute init` (it writes the unit and starts the hub), or run `parachute serve` in a terminal.',
  );
}
