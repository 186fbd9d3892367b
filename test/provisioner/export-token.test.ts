// The hosting provider's export credential lives in the hub's environment
// (a Fly secret): modules are untrusted and must never see it, or any module
// could download the whole hub through /api/hub/provider-export.
import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from '../../src/modules/child-env.ts';

test('a module’s process never gets PARACHUTE_EXPORT_TOKEN (nor the setup token) from a hosted hub', () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-env-'));
  mkdirSync(join(home, 'notes'));
  const env = childEnv({
    hubEnv: {
      PATH: '/usr/bin',
      PARACHUTE_EXPORT_TOKEN: 'parachute-export-secret',
      PARACHUTE_SETUP_TOKEN: 'parachute-bootstrap-secret',
      FLY_APP_NAME: 'parachute-ada',
    },
    home,
    shimsDir: join(home, 'bin'),
    moduleName: 'notes',
    port: 1940,
    origin: 'https://ada.hubs.example.com',
    origins: ['https://ada.hubs.example.com'],
  });
  expect(JSON.stringify(env)).not.toContain('parachute-export-secret');
  expect(JSON.stringify(env)).not.toContain('parachute-bootstrap-secret');
  expect(env.FLY_APP_NAME).toBe('parachute-ada');
});
