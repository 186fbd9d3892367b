import { rmSync } from 'node:fs';
import { OperatorError } from '../operator-error.ts';
import { resolveHome } from '../paths.ts';
import { installedUnit, managerFor } from './host-unit.ts';
import { SYSTEM_HOME } from './unit-config.ts';
import { removeUpgradeTrigger } from './upgrade-trigger.ts';

/**
 * `parachute unit uninstall`: stops the hub, disables and removes its unit.
 * With `purge` (confirmed by the caller) the home goes too. Returns what was
 * removed, for the one-line report.
 */
export async function uninstallUnit(
  purgeConfirmed: (home: string) => Promise<boolean>,
): Promise<string> {
  const unit = installedUnit();
  if (!unit) {
    throw new OperatorError(
      'no unit of the hub is installed here.',
      'Nothing to uninstall (`parachute unit status` shows what is installed).',
    );
  }
  const home = unit.home ?? (unit.scope === 'system' ? SYSTEM_HOME : resolveHome());
  // Asked before anything changes, so a "no" leaves the hub running.
  const purge = await purgeConfirmed(home);
  const manager = managerFor(unit.scope, unit.file);
  await manager.remove();
  try {
    rmSync(unit.file, { force: true });
  } catch (error) {
    throw new OperatorError(
      `could not remove ${unit.file}: ${(error as Error).message}`,
      unit.scope === 'system' ? 'Run it as root (sudo).' : 'Remove the file yourself.',
    );
  }
  await manager.forget();
  if (unit.scope === 'system') await removeUpgradeTrigger();
  if (!purge) return `${unit.file}: removed; the hub is stopped; its data stays in ${home}`;
  rmSync(home, { recursive: true, force: true });
  return `${unit.file}: removed; the hub is stopped; ${home} deleted`;
}
