import { readRuntime } from '../platform/runtime-file.ts';
import { installedUnit, managerFor } from '../platform/units/host-unit.ts';
import { HUB_START_TIMEOUT_MS, waitForHub } from '../platform/units/wait-for-hub.ts';
import { cliHome } from './cli-home.ts';
import { HubClient } from './hub-client.ts';

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
  if (readRuntime(home) || !unit) return HubClient.connect(env);
  console.error(`hub: not running; starting it through its unit (${unit.file})`);
  const manager = managerFor(unit.scope, unit.file, env);
  await manager.start();
  await waitForHub(unit.port ?? 1939, manager, home, HUB_START_TIMEOUT_MS);
  return HubClient.connect(env);
}
