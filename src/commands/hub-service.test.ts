import { describe, expect, test } from 'bun:test';
import { findService, type HubVerb, type ServiceProbe } from './hub-service.ts';

const HOME = '/home/ada';
const probe = (files: string[], env: Record<string, string> = { HOME }): ServiceProbe => ({
  env,
  exists: (path) => files.includes(path),
  uid: 501,
});
const argvs = (files: string[], verb: HubVerb, env?: Record<string, string>) =>
  findService(probe(files, env))
    ?.steps(verb)
    .map((s) => s.argv.join(' '));

// One table for both variants (style.md point 9): each installed layout and what each verb runs.
describe.each([
  [
    'systemd system unit',
    ['/etc/systemd/system/parachute.service', `${HOME}/.config/systemd/user/parachute.service`],
    {
      start: ['systemctl start parachute'],
      stop: ['systemctl stop parachute'],
      restart: ['systemctl restart parachute'],
    },
  ],
  [
    'systemd user unit',
    [`${HOME}/.config/systemd/user/parachute.service`],
    {
      start: ['systemctl --user start parachute'],
      stop: ['systemctl --user stop parachute'],
      restart: ['systemctl --user restart parachute'],
    },
  ],
  [
    'launchd agent',
    [`${HOME}/Library/LaunchAgents/computer.parachute.hub.plist`],
    {
      start: [
        `launchctl bootstrap gui/501 ${HOME}/Library/LaunchAgents/computer.parachute.hub.plist`,
        'launchctl kickstart gui/501/computer.parachute.hub',
      ],
      stop: ['launchctl bootout gui/501/computer.parachute.hub'],
      restart: ['launchctl kickstart -k gui/501/computer.parachute.hub'],
    },
  ],
])('%s', (_, files, expected) => {
  test.each(['start', 'stop', 'restart'] as const)('%s', (verb) => {
    expect(argvs(files, verb)).toEqual(expected[verb]);
  });
});

test('nothing installed: no service', () => {
  expect(findService(probe([]))).toBeNull();
});

test('the user unit is found under XDG_CONFIG_HOME when it is set', () => {
  expect(
    argvs(['/cfg/systemd/user/parachute.service'], 'stop', { HOME, XDG_CONFIG_HOME: '/cfg' }),
  ).toEqual(['systemctl --user stop parachute']);
});
