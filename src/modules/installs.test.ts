import { expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packFixture } from '../../test/helpers/fixtures.ts';
import { ChildrenFile } from '../supervisor/children-file.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { ModuleManager } from './manager.ts';
import { OperationInProgressError, Operations } from './operations.ts';
import { Registry } from './registry.ts';
import { ensureShims } from './shims.ts';

/** A module manager on a fresh home, installing with this Bun (the hub's embedded one in production). */
function manager() {
  const home = mkdtempSync(join(tmpdir(), 'parachute-installs-'));
  const supervisor = new Supervisor(new ChildrenFile(join(home, 'run', 'children.json')), () => {});
  const registry = new Registry(join(home, 'services.json'));
  const shimsDir = join(home, 'bin');
  ensureShims(shimsDir, process.execPath, process.env.PATH ?? '');
  const modules = new ModuleManager({
    home,
    registry,
    supervisor,
    installRoot: {
      modulesDir: join(home, 'modules'),
      tmpDir: join(home, 'tmp'),
      cacheDir: join(home, 'cache'),
      hubBinary: process.execPath,
      env: process.env,
    },
    shimsDir,
    hubEnv: process.env,
    origin: () => 'http://127.0.0.1:1939',
    origins: () => ['http://127.0.0.1:1939'],
  });
  return { modules, supervisor, registry };
}

test('an install that finishes once shutdown began keeps its row and package, and starts nothing', async () => {
  const { modules, supervisor, registry } = manager();
  const op = modules.install(await packFixture('good'));
  // The row is written and the module about to start when the hub begins to shut down.
  modules.operations.subscribe(op.id, (_op, line) => {
    if (line?.startsWith('installed ')) void supervisor.stopAll();
  });
  const done = await modules.operations.settled(op);
  expect(done.state).toBe('succeeded');
  expect(done.lines.map((l) => l.line)).toContain(
    'the hub is shutting down; parachute-fixture-good starts when the hub runs again',
  );
  expect(supervisor.status('parachute-fixture-good')).toMatchObject({
    state: 'stopped',
    pid: null,
  });
  expect(registry.read().rows.map((r) => r.name)).toEqual(['parachute-fixture-good']);
  expect(modules.shuttingDown).toBe(true);
  modules.stop();
}, 30_000);

test('operations run one at a time: a second is refused at once, naming the first, until it ends', async () => {
  const operations = new Operations();
  let finish = () => {};
  const first = operations.run('install', 'a', () => new Promise<void>((r) => (finish = r)));
  let refused: unknown;
  try {
    operations.run('uninstall', 'b', async () => {});
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(OperationInProgressError);
  expect((refused as OperationInProgressError).running).toBe(first);
  finish();
  expect((await operations.settled(first)).state).toBe('succeeded');
  const second = operations.run('uninstall', 'b', async () => {});
  expect((await operations.settled(second)).state).toBe('succeeded');
});
