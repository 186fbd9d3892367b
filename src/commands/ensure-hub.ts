import { OperatorError } from '../platform/operator-error.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { installedUnit, managerFor } from '../platform/units/host-unit.ts';
import { run, userManagerEnv } from '../platform/units/run.ts';
import { HUB_START_TIMEOUT_MS, waitForHub } from '../platform/units/wait-for-hub.ts';
import { cliHome } from './cli-home.ts';
import { HubClient } from './hub-client.ts';
import { findService } from './hub-service.ts';

/**
 * The running hub, started first through its unit when it is down (issue
 * 17, "ensure the hub first"): `parachute start|restart|logs|install` then
 * work after a stop or a crash loop without the operator knowing systemd.
 * Never a detached hub: without a unit it is HubClient's "not running"
 * error, which says how to install one.
 */
export async function connectEnsuringHub(env = process.env): Promise<HubClient> {
  const home = cliHome(env);
  const unit = installedUnit(env, { ownOnly: true });
  const service = findService();
  if (readRuntime(home) || !unit || !service) return HubClient.connect(env);
  console.error(`hub: not running; starting it through ${service.manager} (${service.unit})`);
  for (const step of service.steps('start')) {
    const done = await run(step.argv, userManagerEnv(env));
    if (done.code !== 0 && !step.mayFail) {
      throw new OperatorError(
        `\`${step.argv.join(' ')}\` failed (exit ${done.code}): ${`${done.stderr}${done.stdout}`.trim()}`,
        'Check the unit with `parachute unit status`.',
      );
    }
  }
  const manager = managerFor(unit.scope, unit.file, env);
  await waitForHub(unit.port ?? 1939, manager, home, HUB_START_TIMEOUT_MS);
  return HubClient.connect(env);
}
