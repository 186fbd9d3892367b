import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshHub } from './helpers/api.ts';
import { packFixture } from './helpers/fixtures.ts';
import { install, operatorClient, running, SEED, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();

describe('discovery', () => {
  test('parachute.json lists every mount with its url, version and state; / lists them for people', async () => {
    // A vault that registered itself (upstream modules write their own row): listed, run elsewhere.
    const home = mkdtempSync(join(tmpdir(), 'parachute-discovery-'));
    writeFileSync(
      join(home, 'services.json'),
      JSON.stringify({
        services: [
          {
            name: 'parachute-vault',
            port: 1991,
            paths: ['/vault/default'],
            health: '/health',
            version: '0.4.1',
          },
        ],
      }),
    );
    const started = await freshHub(SEED, home);
    hubs.push(started.hub);
    const call = operatorClient(started.url, home);
    expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');
    await running(call, 'fx-good');

    const res = await fetch(`${started.url}/.well-known/parachute.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { hub: object; services: object[]; vaults: object[] };
    expect(doc.hub).toEqual({ origin: started.url, version: expect.any(String) });
    expect(doc.services).toContainEqual({
      name: 'fx-good',
      displayName: 'Fixture: good',
      path: '/fx-good',
      url: `${started.url}/fx-good`,
      version: '1.0.0',
      infoUrl: `${started.url}/fx-good/.parachute/info`,
      state: 'running',
    });
    expect(doc.services).toContainEqual(
      expect.objectContaining({ path: '/vault/default', state: 'external' }),
    );
    expect(doc.vaults).toEqual([
      { name: 'default', path: '/vault/default', url: `${started.url}/vault/default` },
    ]);

    // The infoUrl works through the proxy.
    const info = await fetch(`${started.url}/fx-good/.parachute/info`);
    expect(await info.json()).toMatchObject({ displayName: 'Fixture: good' });

    const page = await fetch(`${started.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<a href="/fx-good">Fixture: good</a>');
    expect(html).toContain('/vault/default');
  }, 60_000);
});
