import { describe, expect, test } from 'bun:test';
import { scopeSatisfies } from '../hub/ui-gate.ts';
import { gateOf, gatePath, gatesUnder, readUis } from './uis.ts';

describe('readUis', () => {
  const ui = (extra: Record<string, unknown>) => ({ displayName: 'UI', path: '/m/ui', ...extra });

  test('defaults, aliases and the fields kept verbatim', () => {
    const { uis, problems } = readUis(
      'row',
      {
        a: ui({ path: '/m/a/', status: 'pending-oauth', tagline: 't', oauthClientId: 'c' }),
        b: ui({ path: '/m/b', status: 'disabled', audience: 'public' }),
        c: ui({ path: '/m', scopes_required: ['vault:*:read'] }),
      },
      ['/m'],
    );
    expect(problems).toEqual([]);
    expect(uis).toEqual([
      {
        slug: 'a',
        displayName: 'UI',
        path: '/m/a',
        status: 'pending',
        audience: 'hub-users',
        scopesRequired: [],
        tagline: 't',
        oauthClientId: 'c',
      },
      expect.objectContaining({ slug: 'b', status: 'inactive', audience: 'public' }),
      expect.objectContaining({ slug: 'c', status: 'active', scopesRequired: ['vault:*:read'] }),
    ]);
  });

  test('a bad entry is left out alone, with a warning naming the row', () => {
    const { uis, problems } = readUis(
      'parachute-x',
      {
        good: ui({}),
        noName: { path: '/m/x' },
        badPath: ui({ path: '/m/../admin' }),
        notObject: 'x',
        elsewhere: ui({ path: '/admin' }),
        prefixOnly: ui({ path: '/mm' }),
      },
      ['/m'],
    );
    expect(uis.map((u) => u.slug)).toEqual(['good']);
    expect(problems).toHaveLength(5);
    for (const p of problems) expect(p).toStartWith('services.json row "parachute-x": uis.');
    expect(problems.join('\n')).toContain(
      "path /admin is outside this row's mounts (/m); not gated",
    );
    expect(readUis('r', ['x'], ['/m']).problems).toEqual([
      'services.json row "r": uis must be an object of hosted UIs; ignored',
    ]);
  });

  test('a slug cannot forge log lines, and a row lists at most 100 UIs', () => {
    const forged = readUis('r', { 'x\n[hub] admin created': { path: '/m' } }, ['/m']);
    expect(forged.problems).toEqual([
      'services.json row "r": uis."x\\n[hub] admin created": displayName must be a non-empty string; ignored',
    ]);
    const many = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [`u${i}`, { displayName: 'U', path: `/m/${i}` }]),
    );
    const read = readUis('r', many, ['/m']);
    expect(read.uis).toHaveLength(100);
    expect(read.problems).toEqual([
      'services.json row "r": uis has 150 entries; only the first 100 are read',
    ]);
  });

  test('a gate the hub cannot understand fails closed: admins only', () => {
    const { uis, problems } = readUis(
      'r',
      {
        odd: ui({ audience: 'friends' }),
        scopes: ui({ audience: 'hub-users', scopes_required: 'fx:read' }),
      },
      ['/m'],
    );
    expect(uis.map((u) => u.audience)).toEqual(['operator', 'operator']);
    expect(problems[0]).toBe(
      'services.json row "r": uis.odd: audience "friends" is not one of public, hub-users, operator, surface; only admins may open it',
    );
  });
});

describe('gates', () => {
  const { uis } = readUis(
    'r',
    {
      app: { displayName: 'App', path: '/m/app' },
      pub: { displayName: 'Pub', path: '/m/app/pub', audience: 'public' },
      ops: { displayName: 'Ops', path: '/m/Ops', audience: 'operator' },
    },
    ['/m', '/n'],
  );
  const gates = gatesUnder('/m', uis) ?? [];

  test('a mount with only public UIs, or none, has no gate table', () => {
    expect(gatesUnder('/n', uis)).toBeNull();
    expect(
      gatesUnder(
        '/m',
        uis.filter((u) => u.audience === 'public'),
      ),
    ).toBeNull();
  });

  test.each([
    ['/m/app', 'app'],
    ['/m/app/', 'app'],
    ['/m/app/x', 'app'],
    ['/m/app/pub/x', 'pub'],
    ['/m/apps', null],
    ['/m/ops', 'ops'],
    ['/m', null],
  ])('%p is under %p (longest first)', (path, slug) => {
    expect(gateOf(gates, gatePath(path))?.slug ?? null).toBe(slug);
  });

  test.each([
    '/m/OPS/x',
    '/m//ops',
    '/m/%6fps',
    '/m/app/pub/..%2F..%2Fops',
    '/m/app/pub/%2e%2e/%2e%2e/ops',
    '/m\\ops',
    '/m/app/pub%5C..%5C..%5Cops',
  ])('%p cannot walk around the ops gate', (path) => {
    expect(gateOf(gates, gatePath(path))?.slug).toBe('ops');
  });

  test('a decoded ? or # stays part of the path', () => {
    expect(gatePath('/m/app/pub%3F/../../ops')).toBe('/m/ops');
  });
});

describe('scopeSatisfies', () => {
  test.each([
    ['fx:read', 'fx:read', true],
    ['fx:write', 'fx:read', false],
    ['vault:work:read', 'vault:*:read', true],
    ['vault:read', 'vault:*:read', true],
    ['vault:read', 'vault:work:read', false],
    ['vault:work:read', 'vault:read', false],
    ['vault:work:read', 'vault:*', false],
    ['other:read', 'vault:*:read', false],
  ])('%p satisfies %p: %p', (granted, pattern, ok) => {
    expect(scopeSatisfies(granted, pattern)).toBe(ok);
  });
});
