import { describe, expect, test } from 'bun:test';
import { ScopeCatalog, type ScopeSource } from './scopes.ts';
import { tokenServices } from './token-services.ts';

const sources: ScopeSource[] = [
  {
    module: 'vault',
    displayName: 'Vault',
    version: '0.4.1',
    paths: ['/vault/default', '/vault/work/'],
    defines: ['vault:read', 'vault:write'],
  },
  {
    module: 'scribe',
    displayName: 'Scribe',
    version: '2.0.0',
    paths: ['/scribe/', '/scribe-api'],
    defines: ['scribe:transcribe', 'scribe:admin'],
  },
  { module: 'idle', displayName: 'Idle', paths: ['/idle'], defines: ['idle:read'] },
];
const catalog = new ScopeCatalog(sources);
const at = (scopes: string[]) => tokenServices(catalog, sources, 'https://hub.example.com', scopes);

describe('token answer extras', () => {
  test('one vault: its own key, the `vault` key and the vault’s name', () => {
    expect(at(['vault:work:read', 'vault:work:write'])).toEqual({
      services: {
        vault: { url: 'https://hub.example.com/vault/work', version: '0.4.1' },
        'vault:work': { url: 'https://hub.example.com/vault/work', version: '0.4.1' },
      },
      vault: 'work',
    });
  });

  test('two vaults: a key each, `vault` is the first, no single vault named', () => {
    const extras = at(['vault:default:read', 'vault:work:read']);
    expect(extras.vault).toBeUndefined();
    expect(Object.keys(extras.services).sort()).toEqual(['vault', 'vault:default', 'vault:work']);
    expect(extras.services.vault?.url).toBe('https://hub.example.com/vault/default');
  });

  test('a module’s scope names the module by its short name at its first mount', () => {
    expect(at(['scribe:transcribe', 'scribe:admin'])).toEqual({
      services: { scribe: { url: 'https://hub.example.com/scribe', version: '2.0.0' } },
    });
  });

  test('modules not granted, unknown scopes and vaults gone since are left out', () => {
    expect(at(['scribe:transcribe', 'nobody:read', 'vault:gone:read'])).toEqual({
      services: { scribe: { url: 'https://hub.example.com/scribe', version: '2.0.0' } },
      vault: 'gone',
    });
    // No version known: the url alone.
    expect(at(['idle:read']).services).toEqual({ idle: { url: 'https://hub.example.com/idle' } });
    expect(at([])).toEqual({ services: {} });
  });
});
