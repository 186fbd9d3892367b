import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { assignPort } from './ports.ts';
import { pathConflict, REPAIR_WINDOW_MS, Registry } from './registry.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'parachute-registry-')), 'services.json');
const row = (name: string, port: number, paths = [`/${name}`]) => ({
  name,
  port,
  paths,
  health: '/health',
  version: '1.0.0',
});

describe('Registry', () => {
  test('writes 2-space JSON with a trailing newline', () => {
    const registry = new Registry(fresh());
    registry.upsert(row('a', 1941));
    expect(readFileSync(registry.path, 'utf8')).toBe(
      `${JSON.stringify({ services: [row('a', 1941)] }, null, 2)}\n`,
    );
  });

  test('keeps unknown fields, top-level keys and rows a module rewrote between hub writes', () => {
    const registry = new Registry(fresh());
    registry.upsert(row('hub-installed', 1941));
    // A module self-registers behind the hub's back, with fields the hub does not know.
    const onDisk = JSON.parse(readFileSync(registry.path, 'utf8'));
    onDisk.services.push({ ...row('parachute-vault', 1940, ['/vault/default']), vaultSchema: 3 });
    onDisk.services[0].moduleNote = 'kept';
    onDisk.generator = 'vault 0.4';
    writeFileSync(registry.path, JSON.stringify(onDisk));
    registry.upsert({ ...row('hub-installed', 1941), version: '1.1.0' });
    const after = JSON.parse(readFileSync(registry.path, 'utf8'));
    expect(after.generator).toBe('vault 0.4');
    expect(after.services).toEqual([
      { ...row('hub-installed', 1941), version: '1.1.0', moduleNote: 'kept' },
      { ...row('parachute-vault', 1940, ['/vault/default']), vaultSchema: 3 },
    ]);
  });

  test('a module that writes while the hub writes keeps its change: the hub starts over from it', () => {
    // A module self-registers (a tmp file renamed over services.json) while the hub's copy is being written.
    const path = fresh();
    writeFileSync(path, JSON.stringify({ services: [row('booting', 1950)] }));
    let writes = 0;
    const registry = new Registry(path, {
      beforeReplace: () => {
        if (writes++ > 0) return;
        const doc = JSON.parse(readFileSync(path, 'utf8'));
        doc.services[0].uis = { ops: { path: '/booting/ops', audience: 'operator' } };
        writeFileSync(`${path}.module.tmp`, JSON.stringify(doc));
        renameSync(`${path}.module.tmp`, path);
      },
    });
    registry.upsert(row('installed', 1951));
    const after = JSON.parse(readFileSync(path, 'utf8'));
    expect(after.services).toEqual([
      { ...row('booting', 1950), uis: { ops: { path: '/booting/ops', audience: 'operator' } } },
      row('installed', 1951),
    ]);
    expect(writes).toBe(2);
    // Nothing of the dropped copy is left beside the file.
    expect(readdirSync(dirname(path))).toEqual(['services.json']);
  });

  test('a writer that never stops still gets the hub change in, after a few tries', () => {
    const path = fresh();
    let writes = 0;
    const registry = new Registry(path, {
      beforeReplace: () => {
        writes++;
        writeFileSync(path, JSON.stringify({ services: [], tick: writes }));
      },
    });
    registry.upsert(row('installed', 1951));
    expect(writes).toBe(5);
    expect(JSON.parse(readFileSync(path, 'utf8')).services).toEqual([row('installed', 1951)]);
  });

  test('a row a module dropped right after the hub wrote it is put back, with what the module wrote', () => {
    // A module read the file just before the hub added a row, then renamed its copy over it.
    const path = fresh();
    writeFileSync(path, JSON.stringify({ services: [row('booting', 1950)] }));
    const before = readFileSync(path, 'utf8');
    let clock = 0;
    const registry = new Registry(path, { now: () => clock });
    registry.upsert({ ...row('installed', 1951), displayName: 'Installed' });
    const stale = JSON.parse(before);
    stale.services[0].uis = { ops: { path: '/booting/ops', audience: 'operator' } };
    writeFileSync(path, JSON.stringify(stale));
    clock = 1_000;
    expect(registry.restoreLost()).toEqual(['installed']);
    expect(JSON.parse(readFileSync(path, 'utf8')).services).toEqual([
      { ...row('booting', 1950), uis: { ops: { path: '/booting/ops', audience: 'operator' } } },
      { ...row('installed', 1951), displayName: 'Installed' },
    ]);
    expect(registry.restoreLost()).toEqual([]);
    // Long after: a row gone is gone on purpose (someone edited the file), and stays gone.
    writeFileSync(path, JSON.stringify(stale));
    clock = 1_000 + REPAIR_WINDOW_MS;
    expect(registry.restoreLost()).toEqual([]);
    expect(JSON.parse(readFileSync(path, 'utf8')).services).toHaveLength(1);
  });

  test('a row the hub removed is not put back', () => {
    const path = fresh();
    const registry = new Registry(path, { now: () => 0 });
    registry.upsert(row('installed', 1951));
    expect(registry.remove('installed')).toBe(true);
    expect(registry.restoreLost()).toEqual([]);
    expect(JSON.parse(readFileSync(path, 'utf8')).services).toEqual([]);
  });

  test('bad rows and duplicate ports are skipped with a reason; the others load', () => {
    const path = fresh();
    writeFileSync(
      path,
      JSON.stringify({
        services: [row('a', 1941), { name: 'broken', port: 'x' }, row('b', 1941), row('c', 1942)],
      }),
    );
    const { rows, skipped } = new Registry(path).read();
    expect(rows.map((r) => r.name)).toEqual(['a', 'c']);
    expect(skipped).toEqual([
      { index: 1, name: 'broken', reason: expect.stringContaining('invalid row: port') },
      {
        index: 2,
        name: 'b',
        reason: 'port 1941 is already used by "a"; give one of them another port',
      },
    ]);
  });

  test('a malformed file is a clear error and is never overwritten', () => {
    const path = fresh();
    writeFileSync(path, '{"services": [ {"name": "vault", ');
    const registry = new Registry(path);
    expect(() => registry.read()).toThrow(OperatorError);
    expect(() => registry.upsert(row('a', 1941))).toThrow(/not valid JSON/);
    expect(readFileSync(path, 'utf8')).toBe('{"services": [ {"name": "vault", ');
  });

  test('remove deletes only the named row', () => {
    const registry = new Registry(fresh());
    registry.upsert(row('a', 1941));
    registry.upsert(row('b', 1942));
    expect(registry.remove('a')).toBe(true);
    expect(registry.remove('a')).toBe(false);
    expect(registry.read().rows.map((r) => r.name)).toEqual(['b']);
  });
});

describe('paths and ports', () => {
  test('hub paths are reserved and mounted paths cannot be taken twice', () => {
    const rows = [row('parachute-vault', 1940, ['/vault/default'])];
    expect(pathConflict(['/api/x'], rows)).toContain('reserved');
    expect(pathConflict(['/'], rows)).toContain('reserved');
    expect(pathConflict(['/admin'], rows)).toContain('reserved');
    expect(pathConflict(['/vault/default/'], rows)).toContain(
      'already mounted by "parachute-vault"',
    );
    expect(pathConflict(['/vault/default'], rows, 'parachute-vault')).toBeNull();
    expect(pathConflict(['/vault/work', '/apis'], rows)).toBeNull();
  });

  test('canonical port, then the preferred one, then 1940-1949, then above with a warning', () => {
    const all = () => true;
    expect(assignPort({ name: 'vault', port: 5000 }, [], all)).toEqual({ port: 1940 });
    expect(assignPort({ name: 'notes', port: 5000 }, [], all)).toEqual({ port: 5000 });
    expect(assignPort({ name: 'notes', port: 1939 }, [], all)).toEqual({ port: 1940 });
    expect(assignPort({ name: 'notes', port: 5000 }, [], (p) => p !== 5000 && p !== 1940)).toEqual({
      port: 1941,
    });
    const full = Array.from({ length: 10 }, (_, i) => row(`m${i}`, 1940 + i));
    const overflow = assignPort({ name: 'vault', port: 1940 }, full, all);
    expect(overflow.port).toBe(1950);
    expect(overflow.warning).toContain('1940-1949');
  });
});
