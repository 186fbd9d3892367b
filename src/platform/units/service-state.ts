import { CONTAINER_STATE, inContainer } from './container.ts';
import { type InstalledUnit, installedUnit, managerFor } from './host-unit.ts';
import type { UnitScope } from './unit-config.ts';

const KIND: Record<UnitScope, string> = {
  system: 'systemd system unit',
  user: 'systemd user unit',
  launchd: 'launchd agent',
};

/** Who runs the hub here, as the manager says it now; for `unit status` and `parachute status`. */
export interface ServiceState {
  /** e.g. "systemd system unit /etc/systemd/system/parachute.service: active". */
  summary: string;
  manager: 'systemd' | 'launchd' | 'container' | null;
  unit: InstalledUnit | null;
  /** The manager's word (active, inactive, failed, running …), or null without a manager. */
  state: string | null;
}

export async function serviceState(env = process.env): Promise<ServiceState> {
  const unit = installedUnit(env);
  if (unit) {
    const state = await managerFor(unit.scope, unit.file, env)
      .state()
      .catch((e: Error) => `unknown (${e.message})`);
    return {
      summary: `${KIND[unit.scope]} ${unit.file}: ${state || 'unknown'}`,
      manager: unit.scope === 'launchd' ? 'launchd' : 'systemd',
      unit,
      state,
    };
  }
  if (inContainer(env))
    return { summary: CONTAINER_STATE, manager: 'container', unit, state: null };
  return {
    summary: 'no unit installed (`parachute init` installs one)',
    manager: null,
    unit,
    state: null,
  };
}
