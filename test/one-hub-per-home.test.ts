import { describe, expect, test } from 'bun:test';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ready, runBinary, spawnHub, waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  moduleNamed,
  operatorClient,
  running,
  SEED,
  trackHubs,
} from './helpers/modules.ts';

// product.md invariant 5: one hub per PARACHUTE_HOME. A second `serve` used
// to stop the first hub's modules as orphans, re-mint the operator token
// and remove run/hub.json.

const hubs = trackHubs();

/** Everything a second hub must leave as it found it. */
function snapshot(home: string) {
  const file = (name: string) => readFileSync(join(home, name), 'utf8');
  return {
    token: file('operator.token'),
    tokenMtime: statSync(join(home, 'operator.token')).mtimeMs,
    runtime: file('run/hub.json'),
    children: file('run/children.json'),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('one hub per home', () => {
  test('a second serve refuses at once, names the running hub and changes nothing; after a SIGKILL the next one takes over', async () => {
    const first = await hubWithOperator(hubs);
    const home = first.hub.home;
    expect((await install(first.call, { package: await packFixture('good') })).state).toBe(
      'succeeded',
    );
    const module = (await running(first.call, 'fx-good')) as { pid: number };
    const before = snapshot(home);
    const port = Number(new URL(first.url).port);

    // Another port, then the same one: either way the home decides.
    for (const secondPort of ['0', String(port)]) {
      const startedAt = performance.now();
      const second = await runBinary(first.bin, ['serve'], {
        cwd: first.dir,
        env: { ...SEED, PARACHUTE_HOME: home, PORT: secondPort },
      });
      expect(performance.now() - startedAt).toBeLessThan(5000);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(
        `parachute: another hub is already running on PARACHUTE_HOME=${home} (pid ${first.hub.proc.pid}, port ${port}).`,
      );
      expect(second.stderr).toContain('Nothing was changed.');
      expect(second.stdout).not.toContain('stopped');
    }

    expect(snapshot(home)).toEqual(before);
    expect(alive(module.pid)).toBe(true);
    expect(await moduleNamed(first.call, 'fx-good')).toMatchObject({
      state: 'running',
      pid: module.pid,
    });
    const status = await runBinary(first.bin, ['status'], {
      cwd: first.dir,
      env: { PARACHUTE_HOME: home },
    });
    expect(status.stdout).toStartWith(`hub ${first.url} `);

    // Killed outright, the first hub cannot release its lock: the kernel does.
    expect(await first.hub.signal('SIGKILL')).not.toBe(0);
    const next = spawnHub(first.bin, { cwd: first.dir, env: { PARACHUTE_HOME: home } });
    hubs.push(next);
    const url = await next.listening();
    await ready(url);
    const runtime = JSON.parse(readFileSync(join(home, 'run', 'hub.json'), 'utf8'));
    expect(runtime.pid).toBe(next.proc.pid);
    // It stopped the module the dead hub left behind and runs its own.
    const call = operatorClient(url, home);
    const restarted = (await running(call, 'fx-good')) as { pid: number };
    expect(restarted.pid).not.toBe(module.pid);
    await waitFor('the orphan to be gone', () => (alive(module.pid) ? undefined : true));
  }, 60_000);
});
