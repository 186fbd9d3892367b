import { describe, expect, test } from 'bun:test';
import pkg from '../package.json' with { type: 'json' };
import { isolatedBinary, runBinary } from './helpers/binary.ts';

const { dir, bin } = isolatedBinary();

describe('parachute CLI', () => {
  test('--version prints the package version and the commit baked in at build', async () => {
    const git = Bun.spawnSync(['git', 'rev-parse', '--short=12', 'HEAD'], { stderr: 'ignore' });
    const expectedCommit = git.success ? git.stdout.toString().trim() : 'unknown';
    const { code, stdout } = await runBinary(bin, ['--version'], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toStartWith(`parachute ${pkg.version} (commit ${expectedCommit}`);
  });

  test('--help lists every command with what it does', async () => {
    const { code, stdout } = await runBinary(bin, ['--help'], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: parachute <command>');
    expect(stdout).toMatch(/serve\s+Run the hub in the foreground/);
  });

  test('<command> --help shows that command’s options', async () => {
    const { code, stdout } = await runBinary(bin, ['serve', '--help'], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: parachute serve');
    expect(stdout).toContain('PARACHUTE_BIND_HOST');
  });

  test('an unknown command prints usage to stderr and exits 2', async () => {
    const { code, stdout, stderr } = await runBinary(bin, ['frobnicate'], { cwd: dir });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('unknown command "frobnicate"');
    expect(stderr).toContain('Usage: parachute <command>');
  });

  test.each([
    [['serve', '--port', 'abc'], 'invalid port "abc"'],
    [['serve', '--port', '70000'], 'invalid port "70000"'],
    [['serve', '--no-such-flag'], 'unknown option --no-such-flag'],
    [['serve', 'extra'], 'unexpected argument "extra"'],
  ])('bad arguments %p exit 2 and say what is wrong', async (args, message) => {
    const { code, stderr } = await runBinary(bin, args, { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage: parachute serve');
  });
});
