import { describe, expect, test } from 'bun:test';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ApiClient, freshHub } from './helpers/api.ts';
import { type HubProcess, isolatedBinary, spawnHub, waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import {
  hubWithOperator,
  install,
  type OperatorCall,
  operatorClient,
  running,
  SEED,
  trackHubs,
} from './helpers/modules.ts';

// product.md invariant 6: the initial admin password given at first boot is
// not kept where a module (a process of the same OS user) can read it.

const hubs = trackHubs();

describe('the initial admin password', () => {
  test('from the environment: the admin is created, and a module reading /proc/<hub>/environ does not find it, at the first boot or later ones', async () => {
    const first = await hubWithOperator(hubs);
    expect((await new ApiClient(first.url).post('/api/auth/login', ADMIN)).status).toBe(200);
    const op = await install(first.call, { package: await packFixture('good') });
    expect(op.state).toBe('succeeded');
    await moduleSeesNoPassword(first.hub, first.call);

    // The variable is often left in a unit or a platform's secrets: a later boot wipes it too.
    expect(await first.hub.signal('SIGTERM')).toBe(0);
    const again = spawnHub(first.bin, {
      cwd: first.dir,
      env: { ...SEED, PARACHUTE_HOME: first.hub.home },
    });
    hubs.push(again);
    const url = await again.listening();
    await moduleSeesNoPassword(again, operatorClient(url, again.home));
    expect(again.stdout()).toContain(
      'PARACHUTE_INITIAL_ADMIN_PASSWORD is ignored: an admin exists',
    );
  });

  test('from PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE: read once, the admin is created, the file is removed', async () => {
    const file = join(isolatedBinary().dir, 'admin-password');
    writeFileSync(file, `${ADMIN.password}\n`, { mode: 0o600 });
    const { hub, url } = await freshHub({
      PARACHUTE_INITIAL_ADMIN_USERNAME: SEED.PARACHUTE_INITIAL_ADMIN_USERNAME,
      PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE: file,
    });
    hubs.push(hub);
    // The trailing newline an editor or `echo` leaves is not part of the password.
    expect((await new ApiClient(url).post('/api/auth/login', ADMIN)).status).toBe(200);
    expect(existsSync(file)).toBe(false);
    expect(hub.stdout()).toContain(`removed ${file}`);
    expect(hub.stdout() + hub.stderr()).not.toContain(ADMIN.password);
  });

  test('both forms at once, or a file that cannot be read, stop the hub with a message saying what to do', async () => {
    const { dir, bin } = isolatedBinary();
    const file = join(dir, 'admin-password');
    writeFileSync(file, `${ADMIN.password}\n`, { mode: 0o600 });
    // Each start must end by itself: a hub that kept running would be a failure.
    const serve = async (env: Record<string, string>) => {
      const hub = spawnHub(bin, { cwd: dir, env: { PARACHUTE_HOME: join(dir, 'home'), ...env } });
      hubs.push(hub);
      const code = await waitFor('the hub to exit', () => hub.proc.exitCode ?? undefined);
      await hub.proc.exited;
      return { code, stderr: hub.stderr(), stdout: hub.stdout() };
    };
    const both = await serve({ ...SEED, PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE: file });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('Set only one of');
    const missing = await serve({
      PARACHUTE_INITIAL_ADMIN_USERNAME: ADMIN.username,
      PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE: join(dir, 'no-such-file'),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    expect(both.stderr + both.stdout + missing.stderr + missing.stdout).not.toContain(
      ADMIN.password,
    );
    // Nothing was consumed: the file is still there for a corrected start.
    expect(existsSync(file)).toBe(true);
  });
});

/** Reads the hub's /proc/<pid>/environ from the fx-good module, as any module could. */
async function moduleSeesNoPassword(hub: HubProcess, call: OperatorCall) {
  const m = await running(call, 'fx-good');
  const seen = (await (await fetch(`http://127.0.0.1:${m.port}/parent-environ`)).json()) as {
    pid: number;
    environ: string[];
  };
  // It read the hub's own environment...
  expect(seen.pid).toBe(hub.proc.pid);
  expect(seen.environ).toContain(`PARACHUTE_HOME=${hub.home}`);
  expect(seen.environ).toContain(`PARACHUTE_INITIAL_ADMIN_USERNAME=${ADMIN.username}`);
  // ...and the password is not in it, nor in what the module was given, nor in the log.
  expect(seen.environ.filter((e) => e.includes(ADMIN.password))).toEqual([]);
  const env = (await (await fetch(`http://127.0.0.1:${m.port}/env`)).json()) as Record<
    string,
    string | null
  >;
  expect(env.PARACHUTE_INITIAL_ADMIN_PASSWORD).toBeNull();
  expect(hub.stdout() + hub.stderr()).not.toContain(ADMIN.password);
}
