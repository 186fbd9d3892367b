import { resolveHome } from '../platform/paths.ts';
import { installedUnit } from '../platform/units/host-unit.ts';
import { SYSTEM_HOME } from '../platform/units/unit-config.ts';

/**
 * The PARACHUTE_HOME CLI verbs talk to: PARACHUTE_HOME when set, else the
 * home of the unit this user installed (so root reaches the system unit's
 * /var/lib/parachute), else ~/.parachute.
 */
export function cliHome(env: Record<string, string | undefined> = process.env): string {
  if (env.PARACHUTE_HOME?.trim()) return resolveHome(env);
  const unit = installedUnit(env, { ownOnly: true });
  if (unit?.home) return unit.home;
  if (unit?.scope === 'system') return SYSTEM_HOME;
  return resolveHome(env);
}
