import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { run, runOrFail } from './run.ts';
import type { UnitConfig } from './unit-config.ts';

/**
 * How a system hub upgrades itself from the admin UI. It runs as the
 * unprivileged parachute user and may not replace its root-owned binary, so
 * it only writes a request file in its home; a path unit sees it and starts
 * a root oneshot service that runs `parachute upgrade --hub --from-request`.
 * The request carries nothing but an id and a version: where to download
 * from is read from the hub unit's own (root-owned) environment, and the
 * download is checked against that release's SHA256SUMS.
 */
export const TRIGGER_SERVICE = 'parachute-upgrade.service';
export const TRIGGER_PATH = 'parachute-upgrade.path';
const DIR = '/etc/systemd/system';

export function upgradeRequestFile(home: string): string {
  return join(home, 'upgrade-request.json');
}

/** True when this host's system unit has the trigger (installed by `unit install` since it exists). */
export function hasUpgradeTrigger(): boolean {
  return existsSync(join(DIR, TRIGGER_PATH));
}

function renderService(config: UnitConfig): string {
  return [
    '# Written by `parachute unit install`: runs an upgrade the admin UI asked for.',
    '[Unit]',
    'Description=Parachute hub upgrade asked for in the admin UI',
    '',
    '[Service]',
    'Type=oneshot',
    // Download, backup, a 60 s health wait and maybe a rollback with another: more than the default 90 s.
    'TimeoutStartSec=15min',
    `Environment="PARACHUTE_HOME=${config.home.replaceAll('%', '%%')}"`,
    `ExecStart="${config.binary.replaceAll('%', '%%').replaceAll('$', '$$$$')}" upgrade --hub --from-request`,
    '',
  ].join('\n');
}

function renderPath(config: UnitConfig): string {
  return [
    '# Written by `parachute unit install`: watches for the hub asking to be upgraded.',
    '[Unit]',
    'Description=Parachute hub upgrade requests',
    '',
    '[Path]',
    `PathExists=${upgradeRequestFile(config.home).replaceAll('%', '%%')}`,
    `Unit=${TRIGGER_SERVICE}`,
    '',
    '[Install]',
    'WantedBy=paths.target',
    '',
  ].join('\n');
}

/** Writes (when changed) and enables the trigger for a system unit. */
export async function installUpgradeTrigger(config: UnitConfig): Promise<void> {
  let changed = false;
  for (const [name, text] of [
    [TRIGGER_SERVICE, renderService(config)],
    [TRIGGER_PATH, renderPath(config)],
  ] as const) {
    const file = join(DIR, name);
    if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
    writeFileAtomic(file, text, { mode: 0o644 });
    changed = true;
  }
  const hint = 'Upgrades from the admin UI need it; `sudo parachute upgrade --hub` works without.';
  if (changed) await runOrFail(['systemctl', 'daemon-reload'], hint);
  await runOrFail(['systemctl', 'enable', '--now', '--quiet', TRIGGER_PATH], hint);
}

export async function removeUpgradeTrigger(): Promise<void> {
  if (!hasUpgradeTrigger()) return;
  await run(['systemctl', 'disable', '--now', '--quiet', TRIGGER_PATH]);
  rmSync(join(DIR, TRIGGER_PATH), { force: true });
  rmSync(join(DIR, TRIGGER_SERVICE), { force: true });
  await run(['systemctl', 'daemon-reload']);
}
