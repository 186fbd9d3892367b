import { describe, expect, test } from 'bun:test';
import { ModuleManifest } from '../../../src/modules/schema.ts';
import { draftErrors, draftFor, type ManifestDraft, manifestOf } from './manifest-form.tsx';

// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal the hub replaces with the port
const PORT = '${PORT}';

// The form's own checks must agree with the hub's schema: a draft the form
// passes is a manifest the hub parses, and one it stops the hub refuses too.

describe('draftFor', () => {
  test('defaults come from the package name, whatever form the spec takes', () => {
    for (const [spec, name] of [
      ['http-server', 'http-server'],
      ['http-server@14.1.1', 'http-server'],
      ['@scope/Some_Tool@2', 'some-tool'],
      ['/home/me/pkgs/parachute-fixture-bare-1.0.0.tgz', 'parachute-fixture-bare'],
      ['./my-app/', 'my-app'],
      ['9lives', 'lives'],
      ['', 'module'],
    ] as const) {
      const draft = draftFor(spec);
      expect(draft.name).toBe(name);
      expect(draft.paths).toBe(`/${name}`);
      expect(draftErrors(draft)).toEqual({});
      expect(ModuleManifest.safeParse(manifestOf(draft)).success).toBe(true);
    }
  });
});

describe('draftErrors mirrors the schema', () => {
  const base = draftFor('http-server');
  const cases: [string, Partial<ManifestDraft>][] = [
    ['name', { name: 'Http' }],
    ['name', { name: '1x' }],
    ['manifestName', { manifestName: ' ' }],
    ['manifestName', { manifestName: 'x'.repeat(215) }],
    ['port', { port: '0' }],
    ['port', { port: '65536' }],
    ['port', { port: '80.5' }],
    ['port', { port: 'eighty' }],
    ['paths', { paths: 'files' }],
    ['paths', { paths: '/a /b//c' }],
    ['paths', { paths: '/a/../b' }],
    ['paths', { paths: '/a?b' }],
    ['health', { health: 'health' }],
  ];
  for (const [field, patch] of cases) {
    test(`${field} ${JSON.stringify(Object.values(patch)[0]).slice(0, 20)} is refused by both`, () => {
      const draft = { ...base, ...patch };
      expect(Object.keys(draftErrors(draft))).toEqual([field]);
      const parsed = ModuleManifest.safeParse(manifestOf(draft));
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path[0])).toContain(field);
    });
  }

  test('what the form passes the hub parses: several paths, argv split on spaces, empty start command', () => {
    const draft = {
      ...base,
      paths: ' /a  /b/c ',
      startCmd: `  http-server -p ${PORT}  `,
      port: '8080',
    };
    expect(draftErrors(draft)).toEqual({});
    const manifest = manifestOf(draft);
    expect(manifest).toMatchObject({
      paths: ['/a', '/b/c'],
      startCmd: ['http-server', '-p', PORT],
      port: 8080,
    });
    expect(ModuleManifest.safeParse(manifest).success).toBe(true);
    expect(manifestOf({ ...base, startCmd: ' ' })).not.toHaveProperty('startCmd');
  });

  test('quotes in the start command are refused, not split like a shell would', () => {
    expect(draftErrors({ ...base, startCmd: 'serve "my folder"' }).startCmd).toContain('Advanced');
  });
});
