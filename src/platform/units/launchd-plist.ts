import { join } from 'node:path';
import { LAUNCHD_LABEL, STOP_TIMEOUT_SEC, type UnitConfig } from './unit-config.ts';

/**
 * The hub's LaunchAgent (deploy.md, "install.sh" point 3): started at load,
 * kept alive, throttled like systemd's RestartSec, output into
 * $PARACHUTE_HOME/logs (launchd has no journal). ExitTimeOut is launchd's
 * SIGTERM-to-SIGKILL wait, above the hub's shutdown deadline.
 */
export function renderLaunchdPlist(config: UnitConfig): string {
  const logs = join(config.home, 'logs');
  const env = { PARACHUTE_HOME: config.home, PORT: String(config.port), PATH: config.path };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `parachute unit install`: run it again to change this file. -->',
    '<plist version="1.0">',
    '<dict>',
    ...entry('Label', str(LAUNCHD_LABEL)),
    ...entry('ProgramArguments', [
      '<array>',
      `  ${str(config.binary)}`,
      `  ${str('serve')}`,
      '</array>',
    ]),
    ...entry('EnvironmentVariables', [
      '<dict>',
      ...Object.entries(env).flatMap(([k, v]) => [`  <key>${xml(k)}</key>`, `  ${str(v)}`]),
      '</dict>',
    ]),
    ...entry('WorkingDirectory', str(config.home)),
    ...entry('RunAtLoad', '<true/>'),
    ...entry('KeepAlive', '<true/>'),
    ...entry('ThrottleInterval', '<integer>2</integer>'),
    ...entry('ExitTimeOut', `<integer>${STOP_TIMEOUT_SEC}</integer>`),
    ...entry('ProcessType', str('Background')),
    ...entry('StandardOutPath', str(join(logs, 'hub.log'))),
    ...entry('StandardErrorPath', str(join(logs, 'hub.log'))),
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** The file launchd writes the hub's output to. */
export function launchdLogFile(home: string): string {
  return join(home, 'logs', 'hub.log');
}

function entry(key: string, value: string | string[]): string[] {
  const lines = Array.isArray(value) ? value : [value];
  return [`  <key>${xml(key)}</key>`, ...lines.map((l) => `  ${l}`)];
}

function str(value: string): string {
  return `<string>${xml(value)}</string>`;
}

function xml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
