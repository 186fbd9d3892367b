import { expect, test } from 'bun:test';
import { parse } from 'plist';
import { renderLaunchdPlist } from './launchd-plist.ts';
import { STOP_TIMEOUT_SEC, type UnitConfig, unitPath } from './unit-config.ts';
import { unitSettings } from './unit-settings.ts';

const config: UnitConfig = {
  scope: 'launchd',
  binary: '/Users/ada/.local/bin/parachute',
  home: '/Users/ada/.parachute',
  port: 1939,
  path: unitPath('/Users/ada/.parachute', '/Users/ada/.local/bin/parachute'),
};

// No Mac here: the plist is checked by parsing it as an XML property list
// (a real parser, devDependency `plist`) and reading the keys launchd needs.
test('the LaunchAgent is a valid plist with every key launchd needs', () => {
  const agent = parse(renderLaunchdPlist(config)) as Record<string, unknown>;
  expect(agent).toEqual({
    Label: 'computer.parachute.hub',
    ProgramArguments: ['/Users/ada/.local/bin/parachute', 'serve'],
    EnvironmentVariables: {
      PARACHUTE_HOME: '/Users/ada/.parachute',
      PORT: '1939',
      PATH: '/Users/ada/.parachute/bin:/Users/ada/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    },
    WorkingDirectory: '/Users/ada/.parachute',
    RunAtLoad: true,
    KeepAlive: true,
    ThrottleInterval: 2,
    ExitTimeOut: STOP_TIMEOUT_SEC,
    ProcessType: 'Background',
    StandardOutPath: '/Users/ada/.parachute/logs/hub.log',
    StandardErrorPath: '/Users/ada/.parachute/logs/hub.log',
  });
});

test('XML special characters in paths survive and read back', () => {
  const odd = { ...config, home: '/Users/a&b/<hub>', binary: '/Users/a&b/parachute' };
  const agent = parse(renderLaunchdPlist(odd)) as { ProgramArguments: string[] };
  expect(agent.ProgramArguments[0]).toBe('/Users/a&b/parachute');
  expect(unitSettings(renderLaunchdPlist(odd))).toEqual({ home: '/Users/a&b/<hub>', port: 1939 });
});
