import { STOP_TIMEOUT_SEC, SYSTEM_HOME, type UnitConfig } from './unit-config.ts';

/**
 * The hub's systemd unit (deploy.md, "install.sh" point 3). Type=exec:
 * readiness is /health, Bun sends no sd_notify. The start limit sits in
 * [Unit], where systemd reads it. KillMode=mixed: SIGTERM goes to the hub
 * alone, which stops its modules in order; whatever is left in the cgroup
 * is killed once it exits, also after a crash.
 */
export function renderSystemdUnit(config: UnitConfig): string {
  const system = config.scope === 'system';
  const lines = [
    '# Written by `parachute unit install`: run it again (with --port/--home) to change',
    '# this file; hand edits are replaced on the next install.',
    '[Unit]',
    'Description=Parachute hub',
    // User managers have no network-online.target (deploy.md).
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
    '[Service]',
    'Type=exec',
    ...(system ? [`User=${config.user}`, `Group=${config.user}`] : []),
    env('PARACHUTE_HOME', config.home),
    env('PORT', String(config.port)),
    env('PATH', config.path),
    // A system user's home is its state folder; bun and modules look at $HOME.
    ...(system ? [env('HOME', config.home)] : []),
    `WorkingDirectory=${specifiers(config.home)}`,
    `ExecStart=${quote(config.binary).replaceAll('$', '$$$$')} serve`,
    'Restart=always',
    'RestartSec=2',
    'KillMode=mixed',
    `TimeoutStopSec=${STOP_TIMEOUT_SEC}`,
    ...(system ? systemHardening(config.home) : []),
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}

/**
 * What a system unit may not touch. Modules still install (bun writes only
 * under the home and its TMPDIR there) and run. Never MemoryDenyWriteExecute:
 * JavaScript JITs need writable executable memory. NoNewPrivileges is safe:
 * modules are Bun programs that use no setuid helpers.
 */
function systemHardening(home: string): string[] {
  return [
    // systemd creates /var/lib/parachute owned by the unit's user; another home must exist already.
    ...(home === SYSTEM_HOME ? ['StateDirectory=parachute', 'StateDirectoryMode=0750'] : []),
    'UMask=0027',
    'ProtectSystem=full',
    'PrivateTmp=yes',
    'NoNewPrivileges=yes',
    'ProtectControlGroups=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelTunables=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
  ];
}

/** Environment=NAME=value, one word as systemd.syntax(7) reads it. */
function env(name: string, value: string): string {
  return `Environment=${quote(`${name}=${value}`)}`;
}

/** One word: bare when plain, else double-quoted with backslash and quote escaped; % doubled. */
function quote(value: string): string {
  const escaped = specifiers(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** % starts a specifier in every unit setting; %% is a literal one. */
function specifiers(value: string): string {
  return value.replaceAll('%', '%%');
}
