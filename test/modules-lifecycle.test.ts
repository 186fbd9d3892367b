import { describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { portIsFree } from '../src/modules/ports.ts';
import { ready, spawnHub } from './helpers/binary.ts';
import { copyFixture, packFixture } from './helpers/fixtures.ts';
import {
  finishOperation,
  hubWithOperator,
  operatorClient,
  running,
  trackHubs,
} from './helpers/modules.ts';

const hubs = trackHubs();
const hub = (env: Record<string, string> = {}) => hubWithOperator(hubs, env);

describe('module lifecycle', () => {
  test('upgrade re-adds the package, keeps the port, restarts at the new version', async () => {
    const { call, dir } = await hub();
    const source = join(dir, 'good-src');
    copyFixture('good', source);
    expect(
      (await finishOperation(call, await call('POST', '/api/modules/install', { package: source })))
        .state,
    ).toBe('succeeded');
    const before = await running(call, 'fx-good');
    const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    writeFileSync(
      join(source, 'package.json'),
      JSON.stringify({ ...pkg, version: '1.1.0' }, null, 2),
    );
    const op = await finishOperation(call, await call('POST', '/api/modules/fx-good/upgrade', {}));
    expect(op).toMatchObject({ state: 'succeeded' });
    const after = await running(call, 'fx-good');
    expect(after).toMatchObject({ version: '1.1.0', port: before.port });
    expect(after.pid).not.toBe(before.pid);
  });

  test('at boot, a bad row and a broken manifest are skipped with warnings; the other module runs', async () => {
    const { call, hub: h, bin, dir } = await hub();
    for (const fixture of ['good', 'late-bind']) {
      const op = await finishOperation(
        call,
        await call('POST', '/api/modules/install', { package: await packFixture(fixture) }),
      );
      expect(op.state).toBe('succeeded');
    }
    const late = await running(call, 'fx-late-bind');
    expect(await h.signal('SIGTERM')).toBe(0);
    // Damage: one unusable row, and one module's manifest broken on disk.
    const services = JSON.parse(readFileSync(join(h.home, 'services.json'), 'utf8'));
    services.services.push({ name: 'half-written', port: 'x' });
    writeFileSync(join(h.home, 'services.json'), JSON.stringify(services, null, 2));
    const goodRow = services.services.find(
      (r: { name: string }) => r.name === 'parachute-fixture-good',
    );
    writeFileSync(join(goodRow.installDir, '.parachute', 'module.json'), '{ not json');

    const again = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: h.home } });
    hubs.push(again);
    const url = await again.listening();
    await ready(url);
    expect(again.stderr()).toContain('half-written');
    expect(again.stderr()).toContain('module.json is not valid JSON');
    const call2 = operatorClient(url, h.home);
    expect((await running(call2, 'fx-late-bind')).port).toBe(late.port);
    const good = (
      (await call2('GET', '/api/modules')).json.modules as Record<string, unknown>[]
    ).find((m) => m.name === 'parachute-fixture-good');
    expect(good?.state).toBe('stopped');
    const start = await call2('POST', '/api/modules/parachute-fixture-good/start');
    expect(start.status).toBe(422);
    expect(start.json.error).toBe('no_start_cmd');
    expect(start.json.error_description).toContain(
      'module.json is not valid JSON; reinstall or upgrade',
    );
  });

  test('SIGTERM to the hub stops every module, SIGKILLing one that ignores SIGTERM, then exits 0', async () => {
    const { call, hub: h } = await hub();
    for (const fixture of ['good', 'ignores-sigterm']) {
      expect(
        (
          await finishOperation(
            call,
            await call('POST', '/api/modules/install', { package: await packFixture(fixture) }),
          )
        ).state,
      ).toBe('succeeded');
    }
    const ports = [
      (await running(call, 'fx-good')).port,
      (await running(call, 'fx-ignores-sigterm')).port,
    ] as number[];
    const t0 = performance.now();
    expect(await h.signal('SIGTERM')).toBe(0);
    const took = performance.now() - t0;
    // Both stopped in parallel under one grace period (5 s), not one after the other.
    expect(took).toBeLessThan(9000);
    for (const port of ports) expect(portIsFree(port)).toBe(true);
    expect(h.stdout() + h.stderr()).toContain('sending SIGKILL');
  }, 30_000);
});
