import { describe, expect, test } from 'bun:test';
import { ScopeCatalog } from './scopes.ts';

const catalog = new ScopeCatalog([
  {
    module: 'vault',
    displayName: 'Vault',
    paths: ['/vault/default', '/vault/work/'],
    defines: ['vault:read', 'vault:write'],
  },
  {
    module: 'scribe',
    displayName: 'Scribe',
    paths: ['/scribe'],
    defines: [
      'scribe:read',
      'scribe:jobs:write',
      'scribe:admin',
      'scribe:transcribe',
      'parachute:host:admin',
    ],
  },
]);

describe('scope catalog', () => {
  test('vault mounts become vault:<name>:<verb> scopes for the verbs the module defines', () => {
    expect(catalog.vaults).toEqual(['default', 'work']);
    expect(catalog.scopes.get('vault:work:write')).toMatchObject({
      audience: 'vault.work',
      description: 'Create, change and delete notes in the vault “work”',
    });
    expect(catalog.scopes.has('vault:work:admin')).toBe(false);
    expect(catalog.supported).not.toContain('vault:read');
  });

  test('module scopes keep their audience; the hub’s own scopes are never offered', () => {
    expect(catalog.scopes.get('scribe:jobs:write')).toMatchObject({
      audience: 'scribe',
      description: 'Create, change and delete jobs in Scribe',
    });
    expect(catalog.scopes.get('scribe:admin')?.adminVerb).toBe(true);
    // A verb of the module's own is offered like read and write.
    expect(catalog.scopes.get('scribe:transcribe')).toMatchObject({
      audience: 'scribe',
      description: 'Transcribe with Scribe',
      adminVerb: false,
    });
    expect(catalog.supported).toContain('scribe:transcribe');
    expect(catalog.supported).not.toContain('parachute:host:admin');
    expect(catalog.supported).not.toContain('scribe:admin');
    expect(catalog.supported).toContain('scribe:jobs:write');
    expect(ScopeCatalog.isHubOnly('hub:admin')).toBe(true);
  });

  test('resources resolve by longest mount prefix', () => {
    expect(catalog.resourceForPath('/vault/work')?.audience).toBe('vault.work');
    expect(catalog.resourceForPath('/vault/work/api/notes')?.audience).toBe('vault.work');
    expect(catalog.resourceForPath('/scribe/')?.audience).toBe('scribe');
    expect(catalog.resourceForPath('/scribes')).toBeNull();
    expect(catalog.resourceForPath('/vault')).toBeNull();
  });
});
