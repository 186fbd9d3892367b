import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, parseDotEnv } from './child-env.ts';

test('.env parsing: comments, export, quotes', () => {
  expect(parseDotEnv('# c\nA=1\nexport B="two words"\nC=\'x=y\'\n\nnot a line\n')).toEqual({
    A: '1',
    B: 'two words',
    C: 'x=y',
  });
});

test('a child gets the hub env minus secrets, its .env, and the hub’s PORT/origins/PATH on top', () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-env-'));
  mkdirSync(join(home, 'vault'));
  writeFileSync(join(home, 'vault', '.env'), 'PORT=9999\nVAULT_MODE=fast\n');
  const env = childEnv({
    hubEnv: {
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      PARACHUTE_INITIAL_ADMIN_PASSWORD: 'secret',
      PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE: '/run/secrets/admin',
      PARACHUTE_SETUP_TOKEN: 'parachute-bootstrap-preset',
      PARACHUTE_IMPORT_TOKEN: 'one-time',
      NOTIFY_SOCKET: '/run/x',
    },
    home,
    shimsDir: join(home, 'bin'),
    moduleName: 'vault',
    port: 1940,
    origin: 'https://hub.example.com',
    origins: ['https://hub.example.com', 'http://127.0.0.1:1939'],
  });
  expect(env).toEqual({
    LANG: 'C.UTF-8',
    VAULT_MODE: 'fast',
    PORT: '1940',
    PARACHUTE_HOME: home,
    PARACHUTE_HUB_ORIGIN: 'https://hub.example.com',
    PARACHUTE_HUB_ORIGINS: 'https://hub.example.com,http://127.0.0.1:1939',
    PATH: `${join(home, 'bin')}:/usr/bin`,
  });
});
