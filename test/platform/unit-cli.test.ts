/**
 * `parachute unit`, `init` and `setup-token` where no unit can be installed,
 * run on this host with the built binary: a container refuses with the reason,
 * bad flags say what is wrong. (The real installs run in test/platform/units.test.ts.)
 */
import { expect, test } from 'bun:test';
import { isolatedBinary, runBinary } from '../helpers/binary.ts';

test('in a container (Fly, Render, Docker) there is no unit: install refuses, status says who runs it', async () => {
  const { bin, dir } = isolatedBinary();
  const env = { FLY_APP_NAME: 'my-hub', PARACHUTE_HOME: `${dir}/home` };
  for (const args of [['unit', 'install'], ['init']]) {
    const res = await runBinary(bin, args, { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('this is a container: the platform runs the hub');
    expect(res.stderr).not.toContain('    at ');
  }
  const status = await runBinary(bin, ['unit', 'status'], { env });
  expect(status.code).toBe(0);
  expect(status.stdout).toBe('hub: container (managed by the platform)\n');
});

test('bad calls are usage errors that say what is wrong', async () => {
  const { bin } = isolatedBinary();
  const cases: [string[], string][] = [
    [['unit'], 'say install, uninstall or status'],
    [['unit', 'reinstall'], 'unknown subcommand "reinstall"'],
    [['unit', 'install', '--port', '0'], 'a unit needs a fixed port'],
    [['unit', 'install', '--port', 'http'], 'invalid port "http"'],
    [['unit', 'install', '--prot', '80'], 'unknown option --prot'],
    [['init', 'now'], 'unexpected argument "now"'],
    [['setup-token', 'x'], 'unexpected argument "x"'],
  ];
  for (const [args, message] of cases) {
    const res = await runBinary(bin, args);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(message);
  }
});
