import { expect, test } from 'bun:test';
import { describeIssue, ModuleManifest } from './schema.ts';

const valid = {
  name: 'vault',
  manifestName: 'parachute-vault',
  port: 1940,
  paths: ['/vault/default'],
  health: '/health',
};

/** The message an install shows for `manifest`. */
function problem(manifest: unknown): string {
  const parsed = ModuleManifest.safeParse(manifest);
  if (parsed.success) throw new Error('the manifest was accepted');
  return describeIssue(parsed.error, manifest);
}

test.each([
  [{ health: undefined }, 'health: required'],
  [{ port: '80' }, 'port: expected a number, got the string "80"'],
  [{ port: 1.5 }, 'port: expected a whole number, got 1.5'],
  [{ port: 70000 }, 'port: must be at most 65535'],
  [{ port: 0 }, 'port: must be at least 1'],
  [{ manifestName: '' }, 'manifestName: must not be empty'],
  [{ paths: '/vault' }, 'paths: expected a list, got the string "/vault"'],
  [{ paths: [3] }, 'paths.0: expected a string, got 3'],
  [{ startCmd: [] }, 'startCmd: must list at least 1 entry'],
  [{ stripPrefix: 'yes' }, 'stripPrefix: expected true or false, got the string "yes"'],
  [{ health: 'health' }, 'health: must start with / (got the string "health")'],
  [
    { name: 'Vault' },
    'name: use lowercase letters, digits and dashes, starting with a letter (got the string "Vault")',
  ],
  [{ readyTimeoutMs: 5 }, 'readyTimeoutMs: must be at least 100'],
  [{ scopes: 'vault:read' }, 'scopes: expected an object, got the string "vault:read"'],
])('%p is refused with %p', (change, message) => {
  expect(problem({ ...valid, ...change })).toBe(message);
});

test('every failing field is named', () => {
  expect(problem({ name: 'x', port: 'x' })).toBe(
    'manifestName: required; port: expected a number, got the string "x"; paths: required; health: required',
  );
  expect(problem([])).toBe('(the whole document): expected an object, got a list');
});
