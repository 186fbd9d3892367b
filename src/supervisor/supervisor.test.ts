import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { portIsFree } from '../modules/ports.ts';
import { ChildrenFile } from './children-file.ts';
import type { LogChunk } from './log-buffer.ts';
import { groupAlive, type ProcessGroups, processGroups } from './process-group.ts';
import { acceptsConnections } from './readiness.ts';
import {
  type ModuleSpec,
  ShuttingDownError,
  Supervisor,
  type SupervisorKnobs,
} from './supervisor.ts';

const FIXTURES = resolve(import.meta.dir, '../../test/fixtures/modules');
const BUN = process.execPath;
// What $PARACHUTE_HOME/bin gives children: a `bun` on PATH (under bun test, execPath is bun.exe).
const SHIMS = mkdtempSync(join(tmpdir(), 'parachute-shims-'));
symlinkSync(BUN, join(SHIMS, 'bun'));
const supervisors: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stopAll()));
});

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

function setup(knobs: Partial<SupervisorKnobs> = {}, groups: ProcessGroups = processGroups) {
  const mirrored: string[] = [];
  const children = new ChildrenFile(
    join(mkdtempSync(join(tmpdir(), 'parachute-sup-')), 'run', 'children.json'),
  );
  const supervisor = new Supervisor(
    children,
    (name, c: LogChunk) => mirrored.push(...c.text.split('\n').map((l) => `[${name}] ${l}`)),
    {
      readyTimeoutMs: 5000,
      backoffBaseMs: 50,
      stopGraceMs: 2000,
      ...knobs,
    },
    groups,
  );
  supervisors.push(supervisor);
  const add = (
    fixture: string,
    extra: Partial<ModuleSpec> = {},
    env: Record<string, string> = {},
  ) => {
    const spec: ModuleSpec = {
      name: `fx-${fixture}`,
      port: freePort(),
      argv: [BUN, 'bin/server.js'],
      cwd: join(FIXTURES, fixture),
      env: {},
      binDirs: [],
      ...extra,
    };
    spec.env = {
      PATH: `${SHIMS}:${process.env.PATH}`,
      HOME: process.env.HOME ?? '/',
      ...env,
      PORT: String(spec.port),
    };
    supervisor.register(spec);
    return spec;
  };
  return { supervisor, children, mirrored, add };
}

async function until<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined && value !== false) return value as T;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('supervisor', () => {
  test('start → running only once the port accepts; logs captured and mirrored; stop frees the port', async () => {
    const { supervisor, mirrored, add } = setup();
    const spec = add('good');
    expect(await supervisor.start(spec.name)).toBe('starting');
    await until('running', () => supervisor.status(spec.name).state === 'running');
    expect(portIsFree(spec.port)).toBe(false);
    const status = supervisor.status(spec.name);
    expect(status.pid).toBeGreaterThan(0);
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0);
    await until('the start line', () =>
      supervisor
        .logs(spec.name)
        .tail()
        .some((l) => l.line.includes('listening')),
    );
    expect(mirrored.some((l) => l.startsWith(`[${spec.name}] `) && l.includes('listening'))).toBe(
      true,
    );
    expect(await supervisor.stop(spec.name)).toBe('stopped');
    expect(portIsFree(spec.port)).toBe(true);
    expect(supervisor.status(spec.name)).toMatchObject({ state: 'stopped', pid: null });
  });

  test('kill -9 of a module: restarted through the readiness gate, running again, the lines before the crash kept', async () => {
    const { supervisor, add } = setup();
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    await fetch(`http://127.0.0.1:${spec.port}/log?line=before-the-crash`);
    const firstPid = supervisor.status(spec.name).pid as number;
    process.kill(firstPid, 'SIGKILL');
    await until('a new pid running', () => {
      const s = supervisor.status(spec.name);
      return s.state === 'running' && s.pid !== firstPid;
    });
    const status = supervisor.status(spec.name);
    expect(status.restarts).toBe(1);
    // Running again: the crash is in the log, no longer the module's last error.
    expect(status.lastError).toBeNull();
    expect(
      supervisor
        .logs(spec.name)
        .tail()
        .some((l) => l.line.includes('exited unexpectedly (signal SIGKILL)')),
    ).toBe(true);
    expect((await fetch(`http://127.0.0.1:${spec.port}/health`)).status).toBe(200);
    expect(
      supervisor
        .logs(spec.name)
        .tail()
        .some((l) => l.line === 'before-the-crash'),
    ).toBe(true);
  });

  test('a module that crashes at once ends crashed after 3 tries, with its exit code and last lines', async () => {
    const { supervisor, add } = setup();
    const spec = add('crash');
    await supervisor.start(spec.name);
    const error = await until('crashed', () => {
      const s = supervisor.status(spec.name);
      return s.state === 'crashed' ? s.lastError : undefined;
    });
    expect(error).toMatchObject({ reason: 'crashed', exitCode: 1 });
    expect(error?.message).toContain('crashed 3 times');
    expect(error?.lastLines?.some((l) => l.line.includes('fatal: missing config'))).toBe(true);
    expect(supervisor.status(spec.name).restarts).toBe(2);
  });

  test('a module that never binds is unbound and says so; one that binds late becomes running', async () => {
    const { supervisor, add } = setup({ readyTimeoutMs: 400 });
    const never = add('never-binds');
    const late = add('late-bind', {}, { FIXTURE_BIND_DELAY_MS: '1200' });
    await Promise.all([supervisor.start(never.name), supervisor.start(late.name)]);
    const error = await until('unbound', () => {
      const s = supervisor.status(never.name);
      return s.state === 'unbound' ? s.lastError : undefined;
    });
    expect(error?.message).toContain(`port ${never.port}`);
    await until('late-bind unbound first', () => supervisor.status(late.name).state === 'unbound');
    await until('late-bind running', () => supervisor.status(late.name).state === 'running');
    expect(supervisor.status(late.name).lastError).toBeNull();
    expect(await supervisor.stop(never.name)).toBe('stopped');
  });

  test('a wrapped start command (sh -c) leaves no grandchild on the port, on stop or on a crash', async () => {
    const { supervisor, add } = setup();
    const spec = add('sh-wrapped', { argv: null });
    spec.argv = ['sh', '-c', 'bun ./bin/server.js; echo done'];
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const env = (await (await fetch(`http://127.0.0.1:${spec.port}/env`)).json()) as {
      pid: number;
    };
    const sh = supervisor.status(spec.name).pid as number;
    expect(env.pid).not.toBe(sh);
    // Kill only the wrapper: the grandchild must not keep the port through the restart.
    process.kill(sh, 'SIGKILL');
    await until('restarted', () => {
      const s = supervisor.status(spec.name);
      return s.state === 'running' && s.pid !== sh;
    });
    expect(supervisor.status(spec.name).restarts).toBe(1);
    await supervisor.stop(spec.name);
    expect(portIsFree(spec.port)).toBe(true);
    expect(groupAlive(sh)).toBe(false);
  });

  test('a module that ignores SIGTERM is killed after the grace period', async () => {
    const { supervisor, add } = setup({ stopGraceMs: 300 });
    const spec = add('ignores-sigterm');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const t0 = performance.now();
    expect(await supervisor.stop(spec.name)).toBe('stopped');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(portIsFree(spec.port)).toBe(true);
    expect(
      supervisor
        .logs(spec.name)
        .tail()
        .some((l) => l.line.includes('sending SIGKILL')),
    ).toBe(true);
  });

  test('a port held by a foreign process is reported with its pid and left alone', async () => {
    const { supervisor, add } = setup();
    const foreign = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response('foreign'),
    });
    try {
      const spec = add('good', { port: foreign.port as number });
      expect(await supervisor.start(spec.name)).toBe('crashed');
      expect(supervisor.status(spec.name).lastError).toMatchObject({
        reason: 'port_held',
        holder: { pid: process.pid },
      });
      expect(await (await fetch(`http://127.0.0.1:${foreign.port}/`)).text()).toBe('foreign');
    } finally {
      foreign.stop(true);
    }
  });

  test('a missing program is missing_dependency, naming it', async () => {
    const { supervisor, add } = setup();
    const spec = add('good', { argv: ['definitely-not-installed-xyz', '--serve'] });
    expect(await supervisor.start(spec.name)).toBe('crashed');
    expect(supervisor.status(spec.name).lastError).toMatchObject({ reason: 'missing_dependency' });
    expect(supervisor.status(spec.name).lastError?.message).toContain(
      'definitely-not-installed-xyz',
    );
  });

  test('start during backoff cancels the pending restart instead of spawning twice', async () => {
    const { supervisor, add } = setup({ backoffBaseMs: 1500 });
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    process.kill(supervisor.status(spec.name).pid as number, 'SIGKILL');
    await until('backoff', () => supervisor.status(spec.name).state === 'backoff');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const pid = supervisor.status(spec.name).pid;
    // Past the cancelled restart's moment: still the same single process.
    await Bun.sleep(1700);
    expect(supervisor.status(spec.name)).toMatchObject({ state: 'running', pid });
  });
});

describe('supervisor races (modules.md section 5, no races)', () => {
  test('a child that has exited is never signalled: not when its exit is handled, not by a stop during backoff', async () => {
    // Its pid may already be someone else's: every signal the supervisor sends is recorded.
    const signals: string[] = [];
    const { supervisor, add } = setup(
      { backoffBaseMs: 60_000 },
      {
        signal: (pgid, signal) => {
          signals.push(`${signal} ${pgid}`);
          return processGroups.signal(pgid, signal);
        },
        alive: processGroups.alive,
      },
    );
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    process.kill(supervisor.status(spec.name).pid as number, 'SIGKILL');
    await until('backoff', () => supervisor.status(spec.name).state === 'backoff');
    // It was alone in its group: nothing was left to signal once it had exited.
    expect(signals).toEqual([]);
    expect(await supervisor.stop(spec.name)).toBe('stopped');
    expect(signals).toEqual([]);
  });

  test('once shutdown began nothing spawns: an operator start, a restart, a module an install just added', async () => {
    const { supervisor, add } = setup();
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const stopping = supervisor.stopAll();
    expect(supervisor.shuttingDown).toBe(true);
    // An install finishing now registers its module and starts it.
    const late = add('good', { name: 'fx-installed-during-shutdown' });
    const refused = await Promise.allSettled([
      supervisor.start(spec.name),
      supervisor.restart(spec.name),
      supervisor.start(late.name),
    ]);
    for (const r of refused) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ShuttingDownError);
    }
    await stopping;
    for (const s of [spec, late]) {
      expect(supervisor.status(s.name)).toMatchObject({ state: 'stopped', pid: null });
      expect(portIsFree(s.port)).toBe(true);
    }
  });

  test('the wait after SIGKILL has a deadline; a group that outlives it is reported', async () => {
    // A member stuck in the kernel (or one the hub may not signal) keeps its group alive for good.
    const stuck = new Set<number>();
    const { supervisor, add } = setup(
      { stopGraceMs: 100, killWaitMs: 300 },
      { signal: processGroups.signal, alive: (pgid) => stuck.has(pgid) || groupAlive(pgid) },
    );
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const pgid = supervisor.status(spec.name).pid as number;
    stuck.add(pgid);
    const t0 = performance.now();
    expect(await supervisor.stop(spec.name)).toBe('stopped');
    expect(performance.now() - t0).toBeLessThan(3000);
    const error = supervisor.status(spec.name).lastError;
    expect(error).toMatchObject({ reason: 'unreaped' });
    expect(error?.message).toContain(`process group ${pgid}`);
    expect(
      supervisor
        .logs(spec.name)
        .tail()
        .some((l) => l.line.includes(`process group ${pgid}`)),
    ).toBe(true);
  }, 10_000);

  test('restart is one operation: a stop asked right after it is not overtaken by its start', async () => {
    const { supervisor, add } = setup();
    const spec = add('good');
    await supervisor.start(spec.name);
    await until('running', () => supervisor.status(spec.name).state === 'running');
    const restarted = supervisor.restart(spec.name);
    const stopped = supervisor.stop(spec.name);
    expect(await restarted).toBe('starting');
    expect(await stopped).toBe('stopped');
    expect(supervisor.status(spec.name)).toMatchObject({ state: 'stopped', pid: null });
    expect(portIsFree(spec.port)).toBe(true);
  });
});

describe('orphan reaping', () => {
  test('children recorded by a hub that died are terminated; a reused pid is left alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parachute-orphans-'));
    const port = freePort();
    // What a hub killed with SIGKILL leaves behind: its detached child, still on the port.
    const orphan = Bun.spawn([BUN, 'bin/server.js'], {
      cwd: join(FIXTURES, 'good'),
      env: { ...process.env, PORT: String(port) },
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    // Probed by connecting, as the supervisor's gate does: a probe that binds
    // the port (portIsFree) can hold it at the instant the orphan binds, and
    // the orphan then dies of EADDRINUSE (this timed out once in CI).
    const deadline = performance.now() + 30_000;
    while (!(await acceptsConnections(port))) {
      if (orphan.exitCode !== null) throw new Error(`the orphan exited ${orphan.exitCode}`);
      if (performance.now() > deadline) throw new Error('timed out waiting for the orphan');
      await Bun.sleep(10);
    }
    const { processStartTime } = await import('./process-group.ts');
    const stranger = Bun.spawn(['sleep', '30'], { detached: true });
    const file = new ChildrenFile(join(dir, 'children.json'));
    file.add({
      name: 'fx-good',
      pid: orphan.pid,
      pgid: orphan.pid,
      startTime: processStartTime(orphan.pid),
    });
    // A record whose pid now belongs to another program (start time differs).
    file.add({ name: 'other', pid: stranger.pid, pgid: stranger.pid, startTime: '1' });

    const fresh = new ChildrenFile(join(dir, 'children.json'));
    const reaped = await fresh.reapOrphans(2000);
    expect(reaped.map((r) => r.name)).toEqual(['fx-good']);
    await orphan.exited;
    expect(portIsFree(port)).toBe(true);
    expect(groupAlive(stranger.pid)).toBe(true);
    stranger.kill('SIGKILL');
  }, 45_000);
});
