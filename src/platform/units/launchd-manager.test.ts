import { afterAll, beforeEach, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchdManager } from './launchd-manager.ts';

// No Mac here: a stand-in `launchctl` on PATH records each call and answers
// as launchd would (print fails for a job that is not loaded; bootstrap into
// gui/ fails when FAIL_GUI is set, as over ssh), so the order of the calls is real.
const dir = mkdtempSync(join(tmpdir(), 'parachute-launchctl-'));
const calls = join(dir, 'calls');
const loaded = join(dir, 'loaded');
writeFileSync(
  join(dir, 'launchctl'),
  `#!/bin/sh
echo "$*" >> "${calls}"
case "$1" in
  print) grep -qx "$2" "${loaded}" 2>/dev/null && echo "	state = running" && exit 0; exit 113 ;;
  bootout) grep -vx "$2" "${loaded}" > "${loaded}.new" 2>/dev/null; mv "${loaded}.new" "${loaded}"; exit 0 ;;
  bootstrap) [ -n "$FAIL_GUI" ] && [ "\${2#gui/}" != "$2" ] && exit 125
    echo "$2/computer.parachute.hub" >> "${loaded}"; exit 0 ;;
esac
exit 0
`,
);
chmodSync(join(dir, 'launchctl'), 0o755);
const savedPath = process.env.PATH;
process.env.PATH = `${dir}:${savedPath}`;
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  writeFileSync(calls, '');
  writeFileSync(loaded, '');
  delete process.env.FAIL_GUI;
});
const plist = '/Users/ada/Library/LaunchAgents/computer.parachute.hub.plist';
const made = () => readFileSync(calls, 'utf8').trim().split('\n');
const job = 'computer.parachute.hub';

test('first install: bootout (ignored) → enable → bootstrap into the GUI session', async () => {
  const manager = launchdManager(plist, 501);
  expect(await manager.apply({ changed: true, restart: false, noStart: false, home: '/h' })).toBe(
    'started',
  );
  expect(made()).toEqual([
    `print gui/501/${job}`,
    `print user/501/${job}`,
    `bootout gui/501/${job}`,
    `bootout user/501/${job}`,
    `enable gui/501/${job}`,
    `bootstrap gui/501 ${plist}`,
  ]);
  expect(await manager.state()).toBe('running');
});

test('unchanged and loaded: nothing is reloaded; changed: reloaded', async () => {
  const manager = launchdManager(plist, 501);
  await manager.apply({ changed: true, restart: false, noStart: false, home: '/h' });
  writeFileSync(calls, '');
  expect(await manager.apply({ changed: false, restart: false, noStart: false, home: '/h' })).toBe(
    'already running',
  );
  expect(made()).toEqual([`print gui/501/${job}`]);
  expect(await manager.apply({ changed: true, restart: false, noStart: false, home: '/h' })).toBe(
    'restarted',
  );
});

test('no GUI session (ssh): bootstrap is retried once, then goes to the user domain', async () => {
  process.env.FAIL_GUI = '1';
  const manager = launchdManager(plist, 501);
  expect(await manager.apply({ changed: true, restart: false, noStart: false, home: '/h' })).toBe(
    'started',
  );
  expect(made().slice(-4)).toEqual([
    `bootstrap gui/501 ${plist}`,
    `bootstrap gui/501 ${plist}`,
    `enable user/501/${job}`,
    `bootstrap user/501 ${plist}`,
  ]);
  expect(await manager.state()).toBe('running');
  // Started again where it is loaded.
  writeFileSync(calls, '');
  await manager.start();
  expect(made()).toEqual([
    `print gui/501/${job}`,
    `print user/501/${job}`,
    `kickstart user/501/${job}`,
  ]);
});
