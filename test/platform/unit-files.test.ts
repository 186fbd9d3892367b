/**
 * Every rendered systemd unit passes `systemd-analyze verify` on this host
 * (deploy.md: "systemd-analyze verify passes on the rendered unit"). The
 * tool exits 0 on settings it ignores, so anything it prints fails the test;
 * a broken unit shows that the check can fail.
 */
import { afterAll, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSystemdUnit } from '../../src/platform/units/systemd-unit.ts';
import { type UnitConfig, unitPath } from '../../src/platform/units/unit-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'parachute-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ExecStart must name an executable file, as on a real host.
const binary = join(dir, 'bin', 'parachute');
mkdirSync(join(dir, 'bin'));
copyFileSync('/bin/true', binary);

async function verify(unit: string, scope: UnitConfig['scope']): Promise<string> {
  const folder = mkdtempSync(join(dir, `${scope}-`));
  const file = join(folder, 'parachute.service');
  writeFileSync(file, unit);
  // A user manager's verify needs a runtime folder of its own.
  const runtime = mkdtempSync(join(dir, 'run-'));
  const proc = Bun.spawn(
    ['systemd-analyze', ...(scope === 'user' ? ['--user'] : []), 'verify', '--man=no', file],
    { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, stdout: 'pipe', stderr: 'pipe' },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return `${code === 0 ? '' : `exit ${code}\n`}${out}${err}`.trim();
}

const system: UnitConfig = {
  scope: 'system',
  binary,
  home: '/var/lib/parachute',
  port: 1939,
  user: 'parachute',
  path: unitPath('/var/lib/parachute', binary),
};
const user: UnitConfig = {
  scope: 'user',
  binary,
  home: '/home/ada/.parachute',
  port: 41939,
  path: unitPath('/home/ada/.parachute', binary),
};

test.each([
  ['system unit', system],
  ['system unit with a home of its own', { ...system, home: '/srv/parachute hub' }],
  ['user unit', user],
] as const)('%s: systemd-analyze verify says nothing', async (_, config) => {
  expect(await verify(renderSystemdUnit(config), config.scope)).toBe('');
});

test('the check can fail: a unit with a bad setting and a missing binary is reported', async () => {
  const broken = renderSystemdUnit(system)
    .replace('Restart=always', 'Restart=sometimes')
    .replace(binary, '/nonexistent/parachute');
  const said = await verify(broken, 'system');
  expect(said).toContain('sometimes');
  expect(said).toContain('/nonexistent/parachute');
});
