import { describe, expect, test } from 'bun:test';
import { renderSystemdUnit } from './systemd-unit.ts';
import {
  HUB_SHUTDOWN_DEADLINE_MS,
  STOP_TIMEOUT_SEC,
  type UnitConfig,
  unitPath,
} from './unit-config.ts';
import { unitSettings } from './unit-settings.ts';

const system: UnitConfig = {
  scope: 'system',
  binary: '/usr/local/bin/parachute',
  home: '/var/lib/parachute',
  port: 1939,
  user: 'parachute',
  path: unitPath('/var/lib/parachute', '/usr/local/bin/parachute'),
};
const user: UnitConfig = {
  scope: 'user',
  binary: '/home/ada/.local/bin/parachute',
  home: '/home/ada/.parachute',
  port: 4000,
  path: unitPath('/home/ada/.parachute', '/home/ada/.local/bin/parachute'),
};

/** The lines of one [section]. */
function section(unit: string, name: string): string[] {
  const body = unit.split(`[${name}]\n`)[1] ?? '';
  return body.split('\n[')[0]?.split('\n').filter(Boolean) ?? [];
}

describe('system unit', () => {
  const unit = renderSystemdUnit(system);
  test('runs the binary as the parachute user with its home, port and the shims on PATH', () => {
    const service = section(unit, 'Service');
    expect(service).toContain('ExecStart=/usr/local/bin/parachute serve');
    expect(service).toContain('User=parachute');
    expect(service).toContain('Environment=PARACHUTE_HOME=/var/lib/parachute');
    expect(service).toContain('Environment=PORT=1939');
    expect(service).toContain(
      'Environment=PATH=/var/lib/parachute/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    expect(service).toContain('StateDirectory=parachute');
    expect(service).toContain('Type=exec');
  });

  test('restarts forever, with the start limit in [Unit] where systemd reads it', () => {
    expect(section(unit, 'Unit')).toEqual(
      expect.arrayContaining(['StartLimitIntervalSec=300', 'StartLimitBurst=10']),
    );
    const service = section(unit, 'Service');
    expect(service.some((l) => l.startsWith('StartLimit'))).toBe(false);
    expect(service).toEqual(expect.arrayContaining(['Restart=always', 'RestartSec=2']));
  });

  test('stops through the hub (KillMode=mixed) with more time than its own shutdown takes', () => {
    const service = section(unit, 'Service');
    expect(service).toContain('KillMode=mixed');
    expect(service).toContain(`TimeoutStopSec=${STOP_TIMEOUT_SEC}`);
    expect(STOP_TIMEOUT_SEC * 1000).toBeGreaterThan(HUB_SHUTDOWN_DEADLINE_MS * 2);
  });

  test('is hardened without breaking Bun: no MemoryDenyWriteExecute', () => {
    const service = section(unit, 'Service');
    expect(service).toEqual(
      expect.arrayContaining(['ProtectSystem=full', 'PrivateTmp=yes', 'NoNewPrivileges=yes']),
    );
    expect(unit).not.toContain('MemoryDenyWriteExecute');
    expect(unit).not.toContain('ProtectHome');
    expect(unit).not.toContain('ProtectSystem=strict');
  });

  test('starts after the network at boot', () => {
    expect(section(unit, 'Unit')).toContain('After=network-online.target');
    expect(section(unit, 'Install')).toEqual(['WantedBy=multi-user.target']);
  });

  test('a home of its own is not a StateDirectory (systemd would make /var/lib/parachute)', () => {
    const other = renderSystemdUnit({ ...system, home: '/srv/hub', path: '/srv/hub/bin:/bin' });
    expect(other).not.toContain('StateDirectory');
    expect(other).toContain('Environment=PARACHUTE_HOME=/srv/hub');
  });
});

describe('user unit', () => {
  const unit = renderSystemdUnit(user);
  test('runs the binary with its home and port, wanted by default.target', () => {
    const service = section(unit, 'Service');
    expect(service).toContain('ExecStart=/home/ada/.local/bin/parachute serve');
    expect(service).toContain('Environment=PARACHUTE_HOME=/home/ada/.parachute');
    expect(service).toContain('Environment=PORT=4000');
    expect(section(unit, 'Install')).toEqual(['WantedBy=default.target']);
    expect(section(unit, 'Unit')).toContain('StartLimitBurst=10');
    expect(service).toEqual(expect.arrayContaining(['Restart=always', 'KillMode=mixed']));
  });

  test('has no system-only parts: no User=, no hardening, no network-online.target', () => {
    for (const absent of [
      'User=',
      'ProtectSystem',
      'PrivateTmp',
      'StateDirectory',
      'network-online',
    ]) {
      expect(unit).not.toContain(absent);
    }
  });
});

test('odd paths are quoted and escaped, and read back as they were', () => {
  const odd = renderSystemdUnit({
    ...user,
    binary: '/opt/my apps/parachute$1',
    home: '/home/ada/100% "hub"',
    path: '/bin',
  });
  expect(odd).toContain('ExecStart="/opt/my apps/parachute$$1" serve');
  expect(odd).toContain('Environment="PARACHUTE_HOME=/home/ada/100%% \\"hub\\""');
  expect(unitSettings(odd)).toEqual({ home: '/home/ada/100% "hub"', port: 4000 });
});

test('the settings of a rendered unit read back', () => {
  expect(unitSettings(renderSystemdUnit(system))).toEqual({
    home: '/var/lib/parachute',
    port: 1939,
  });
});
