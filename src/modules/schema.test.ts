import { describe, expect, test } from 'bun:test';
import { describeIssue, ModuleManifest, ServiceRow } from './schema.ts';

const valid = {
  name: 'vault',
  manifestName: 'parachute-vault',
  port: 1940,
  paths: ['/vault/default'],
  health: '/health',
  startCmd: ['parachute-vault', 'serve'],
  kind: 'app',
  'x-future': { nested: true },
};

describe('module.json', () => {
  test('accepts upstream manifests and keeps keys it does not know', () => {
    const parsed = ModuleManifest.parse(valid);
    expect(parsed).toEqual(valid);
  });

  test.each([
    [{ name: 'Vault' }, 'name'],
    [{ port: 0 }, 'port'],
    [{ port: 70000 }, 'port'],
    [{ paths: ['vault'] }, 'paths.0'],
    [{ paths: ['/a/../b'] }, 'paths.0'],
    [{ health: 'health' }, 'health'],
    [{ startCmd: [] }, 'startCmd'],
    [{ managementUrl: '//evil.example/x' }, 'managementUrl'],
    [{ uiUrl: '/ui/../../etc' }, 'uiUrl'],
    [{ scopes: { defines: ['Vault:read'] } }, 'scopes.defines.0'],
    [{ scopes: { defines: ['vault'] } }, 'scopes.defines.0'],
  ])('%p is refused, naming %p', (change, field) => {
    const result = ModuleManifest.safeParse({ ...valid, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  test("a module's own verbs are accepted (upstream scribe defines scribe:transcribe)", () => {
    const scribe = { ...valid, scopes: { defines: ['scribe:transcribe', 'scribe:admin'] } };
    expect(ModuleManifest.safeParse(scribe).success).toBe(true);
  });

  describe('credentials', () => {
    const credential = {
      key: 'vault',
      title: 'Read a vault',
      scope: 'vault:{vault}:read',
      endpoint: '/surface/api/credential',
    };
    test('a read or write template for the vault the admin picks is accepted', () => {
      const write = { ...credential, key: 'vault-write', scope: 'vault:{vault}:write' };
      const parsed = ModuleManifest.safeParse({ ...valid, credentials: [credential, write] });
      expect(parsed.success).toBe(true);
    });

    test.each([
      ['vault:{vault}:admin', 'credentials.0.scope'],
      ['vault:alpha:read', 'credentials.0.scope'],
      ['notes:read', 'credentials.0.scope'],
      ['parachute:host:admin', 'credentials.0.scope'],
    ])('scope %p is refused, naming %p, with what it must be', (scope, field) => {
      const input = { ...valid, credentials: [{ ...credential, scope }] };
      const result = ModuleManifest.safeParse(input);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path.join('.')).toBe(field);
      expect(describeIssue(result.error as never, input)).toContain(
        'credentials.0.scope: must be vault:{vault}:read or vault:{vault}:write',
      );
    });

    test.each([
      [{ endpoint: 'api/credential' }, 'credentials.0.endpoint'],
      [{ endpoint: '/a/../b' }, 'credentials.0.endpoint'],
      [{ key: 'Bad Key' }, 'credentials.0.key'],
      [{ title: undefined }, 'credentials.0.title'],
    ])('%p is refused, naming %p', (change, field) => {
      const result = ModuleManifest.safeParse({
        ...valid,
        credentials: [{ ...credential, ...change }],
      });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path.join('.')).toBe(field);
    });
  });

  test('a manifest with no startCmd is valid (never spawned)', () => {
    const { startCmd: _, ...rest } = valid;
    expect(ModuleManifest.safeParse(rest).success).toBe(true);
  });
});

test('services.json rows keep fields a module wrote that the hub does not know', () => {
  const row = {
    name: 'parachute-vault',
    port: 1940,
    paths: ['/vault/default'],
    health: '/health',
    version: '0.4.1',
    vaultSchema: 3,
  };
  expect(ServiceRow.parse(row)).toEqual(row);
});
