import { describe, expect, test } from 'bun:test';
import { ModuleManifest } from './schema.ts';
import { type LinkContext, resolveUiLinks } from './ui-links.ts';

const hub: LinkContext = { origin: 'https://hub.example.com', appsDomain: null };
const apps: LinkContext = {
  origin: 'https://hub.example.com:8443',
  appsDomain: 'apps.example.com',
};
const notes = { module: 'notes', paths: ['/notes', '/notes-api'] };
const vault = { module: 'vault', paths: ['/vault/alpha', '/vault/beta/'] };

describe('UI links resolve by their form', () => {
  test.each([
    [
      'an absolute URL, verbatim',
      'https://docs.example.org/notes?x=1',
      'https://docs.example.org/notes?x=1',
    ],
    [
      'an origin-absolute path, on the hub, never mount-prefixed',
      '/admin/modules',
      'https://hub.example.com/admin/modules',
    ],
    [
      'a relative path, joined onto the first mount',
      'settings/',
      'https://hub.example.com/notes/settings/',
    ],
    ['./, the mount itself with a slash', './', 'https://hub.example.com/notes/'],
    ['a relative path with a query', 'app?tab=1', 'https://hub.example.com/notes/app?tab=1'],
  ])('%s', (_what, declared, expected) => {
    const [instance] = resolveUiLinks({ ...notes, declared: { uiUrl: declared } }, hub);
    expect(instance).toEqual({ path: '/notes', vault: null, uiUrl: expected });
  });

  test('a vault-like module gets each link once per vault; origin-absolute ones stay the same', () => {
    const links = resolveUiLinks(
      {
        ...vault,
        declared: { uiUrl: './', managementUrl: 'admin/', configUiUrl: '/vault/admin/' },
      },
      hub,
    );
    expect(links).toEqual([
      {
        path: '/vault/alpha',
        vault: 'alpha',
        uiUrl: 'https://hub.example.com/vault/alpha/',
        managementUrl: 'https://hub.example.com/vault/alpha/admin/',
        configUiUrl: 'https://hub.example.com/vault/admin/',
      },
      {
        path: '/vault/beta/',
        vault: 'beta',
        uiUrl: 'https://hub.example.com/vault/beta/',
        managementUrl: 'https://hub.example.com/vault/beta/admin/',
        configUiUrl: 'https://hub.example.com/vault/admin/',
      },
    ]);
  });

  test('upstream vault’s literal managementUrl "/admin" is still joined per vault', () => {
    for (const legacy of ['/admin', '/admin/']) {
      const links = resolveUiLinks({ ...vault, declared: { managementUrl: legacy } }, hub);
      expect(links.map((l) => l.managementUrl)).toEqual([
        `https://hub.example.com/vault/alpha${legacy}`,
        `https://hub.example.com/vault/beta${legacy}`,
      ]);
    }
    // Any other module's "/admin" is the hub's admin UI, as written.
    const [other] = resolveUiLinks({ ...notes, declared: { managementUrl: '/admin' } }, hub);
    expect(other?.managementUrl).toBe('https://hub.example.com/admin');
  });

  test('nothing declared: no instance; no mount: relative links are dropped', () => {
    expect(resolveUiLinks({ ...notes, declared: {} }, hub)).toEqual([]);
    expect(
      resolveUiLinks(
        { module: 'cli', paths: [], declared: { uiUrl: 'x/', managementUrl: '/admin/' } },
        hub,
      ),
    ).toEqual([{ path: null, vault: null, managementUrl: 'https://hub.example.com/admin/' }]);
  });

  test('with an apps domain, links into the module’s own mounts are on its own origin', () => {
    const [instance] = resolveUiLinks(
      {
        ...notes,
        declared: {
          uiUrl: './',
          managementUrl: '/notes-api/manage',
          configUiUrl: '/admin/modules',
        },
      },
      apps,
    );
    expect(instance).toEqual({
      path: '/notes',
      vault: null,
      uiUrl: 'https://notes.apps.example.com:8443/notes/',
      managementUrl: 'https://notes.apps.example.com:8443/notes-api/manage',
      // Not the module's: the hub's own page stays on the hub's origin.
      configUiUrl: 'https://hub.example.com:8443/admin/modules',
    });
    // A prefix that is not a whole segment is not the module's.
    const [near] = resolveUiLinks({ ...notes, declared: { uiUrl: '/notesx' } }, apps);
    expect(near?.uiUrl).toBe('https://hub.example.com:8443/notesx');
  });
});

describe('module.json refuses links that could leave the site or run script, naming the field', () => {
  const base = { name: 'x', manifestName: 'x', port: 1990, paths: ['/x'], health: '/health' };
  test.each([
    ['configUiUrl', '//evil.example/x'],
    ['uiUrl', 'javascript:alert(1)'],
    ['uiUrl', 'JavaScript:alert(1)'],
    ['managementUrl', 'data:text/html,hi'],
    ['uiUrl', '/\\evil.example'],
    ['uiUrl', '/\t/evil.example'],
    ['uiUrl', 'admin/../../etc'],
    ['configUiUrl', '/x/%2e%2e/admin'],
    ['uiUrl', 'https://ok.example//x'],
    ['uiUrl', 'ftp://files.example/x'],
    ['uiUrl', ''],
    ['uiUrl', 'a b'],
  ])('%s: %p', (field, value) => {
    const result = ModuleManifest.safeParse({ ...base, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  test.each([
    ['uiUrl', './'],
    ['uiUrl', 'admin/'],
    ['managementUrl', '/admin'],
    ['configUiUrl', 'https://example.org/config?x=1#top'],
    ['configUiUrl', 'http://127.0.0.1:1940/vault/admin/'],
  ])('%s: %p is accepted', (field, value) => {
    expect(ModuleManifest.safeParse({ ...base, [field]: value }).success).toBe(true);
  });
});
