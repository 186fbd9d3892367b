import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshHub } from './helpers/api.ts';
import { packFixture, unusedPort } from './helpers/fixtures.ts';
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
      {
        name: 'default',
        path: '/vault/default',
        url: `${started.url}/vault/default`,
        version: '0.4.1',
      },
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

/** A tile on the `/` page: its link and its label. */
const tileLinks = (html: string) =>
  [...html.matchAll(/<li class="tile"><a href="([^"]+)"><strong>(.*?)<\/strong>/g)].map((m) => [
    m[1],
    m[2],
  ]);

describe('where module UIs live (module.json uiUrl, managementUrl, configUiUrl)', () => {
  test('discovery, / and the admin API resolve each form; a vault gets its links per vault', async () => {
    const started = await freshHub(SEED);
    hubs.push(started.hub);
    const url = started.url;
    const call = operatorClient(url, started.hub.home);
    for (const fixture of ['ui', 'vault']) {
      expect((await install(call, { package: await packFixture(fixture) })).state).toBe(
        'succeeded',
      );
    }
    // The same package again as another module whose labels try to inject markup.
    const hostile = {
      name: 'fx-markup',
      manifestName: 'parachute-fixture-markup',
      port: unusedPort(),
      paths: ['/fx-markup'],
      health: '/health',
      startCmd: ['fixture-good'],
      stripPrefix: true,
      displayName: '<script>alert(1)</script>',
      tagline: '"><img src=x onerror=alert(2)>',
      uiUrl: 'app/?a=1&b=2',
    };
    const good = await packFixture('good');
    expect((await install(call, { package: good, manifest: hostile })).state).toBe('succeeded');
    await running(call, 'fx-ui');

    const res = await fetch(`${url}/.well-known/parachute.json`, {
      headers: { origin: 'https://notes.example' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const doc = (await res.json()) as Record<string, unknown> & {
      services: Record<string, unknown>[];
      vaults: unknown[];
    };
    // fx-ui declares all three forms: relative, absolute URL, origin-absolute path.
    expect(doc.services).toContainEqual(
      expect.objectContaining({
        name: 'fx-ui',
        path: '/fx-ui',
        uiUrl: `${url}/fx-ui/`,
        managementUrl: 'https://fx-ui.example/manage',
        configUiUrl: `${url}/fx-ui/?view=config`,
      }),
    );
    // fx-vault: uiUrl "./" and upstream vault's literal managementUrl "/admin", per vault.
    expect(doc.vaults).toEqual([
      {
        name: 'alpha',
        path: '/vault/alpha',
        url: `${url}/vault/alpha`,
        version: '1.0.0',
        managementUrl: `${url}/vault/alpha/admin`,
      },
      {
        name: 'beta',
        path: '/vault/beta',
        url: `${url}/vault/beta`,
        version: '1.0.0',
        managementUrl: `${url}/vault/beta/admin`,
      },
    ]);
    expect(doc.services).toContainEqual(
      expect.objectContaining({ path: '/vault/beta', uiUrl: `${url}/vault/beta/` }),
    );
    expect(started.hub.stderr()).toContain('managementUrl "/admin" is joined onto each vault');
    // Upstream's per-module buckets, for every module but the vaults.
    expect(doc['fx-ui']).toEqual([{ url: `${url}/fx-ui`, version: '1.0.0' }]);
    expect(doc['fx-markup']).toEqual([{ url: `${url}/fx-markup`, version: '1.0.0' }]);
    expect(doc['fx-vault']).toBeUndefined();
    // A module declaring nothing gets no link keys at all.
    expect(Object.keys(doc.services.find((s) => s.name === 'fx-markup') ?? {})).not.toContain(
      'managementUrl',
    );

    // notes-ui reads it from another origin: the preflight is answered.
    const preflight = await fetch(`${url}/.well-known/parachute.json`, {
      method: 'OPTIONS',
      headers: { origin: 'https://notes.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');

    // The / page: one tile per module UI (one per vault), labels escaped, CSP kept.
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(tileLinks(html)).toEqual([
      [`${url}/fx-ui/`, 'Fixture: UI'],
      [`${url}/vault/alpha/`, 'Fixture: Vault (alpha)'],
      [`${url}/vault/beta/`, 'Fixture: Vault (beta)'],
      [`${url}/fx-markup/app/?a=1&#38;b=2`, '&#60;script&#62;alert(1)&#60;/script&#62;'],
    ]);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&#34;&#62;&#60;img src=x onerror=alert(2)&#62;');

    // The admin API the Overview reads carries the same links.
    const vault = (await call('GET', '/api/modules')).json.modules as {
      module: string;
      links: unknown[];
    }[];
    expect(vault.find((m) => m.module === 'fx-vault')?.links).toEqual([
      {
        path: '/vault/alpha',
        vault: 'alpha',
        uiUrl: `${url}/vault/alpha/`,
        managementUrl: `${url}/vault/alpha/admin`,
      },
      {
        path: '/vault/beta',
        vault: 'beta',
        uiUrl: `${url}/vault/beta/`,
        managementUrl: `${url}/vault/beta/admin`,
      },
    ]);

    // With an apps domain, links into a module's own mounts are on its own origin.
    expect((await call('PUT', '/api/hub/apps-domain', { apps_domain: 'apps.test' })).status).toBe(
      200,
    );
    const port = new URL(url).port;
    const isolated = (await (await fetch(`${url}/.well-known/parachute.json`)).json()) as {
      services: Record<string, unknown>[];
    };
    expect(isolated.services).toContainEqual(
      expect.objectContaining({
        name: 'fx-ui',
        url: `${url}/fx-ui`,
        uiUrl: `http://fx-ui.apps.test:${port}/fx-ui/`,
        managementUrl: 'https://fx-ui.example/manage',
        configUiUrl: `http://fx-ui.apps.test:${port}/fx-ui/?view=config`,
      }),
    );
  }, 120_000);

  test('a link that could leave the site or run script fails the install, naming the field', async () => {
    const started = await freshHub(SEED);
    hubs.push(started.hub);
    const call = operatorClient(started.url, started.hub.home);
    const good = await packFixture('good');
    for (const [field, value] of [
      ['uiUrl', 'javascript:alert(1)'],
      ['configUiUrl', '//evil.example/'],
      ['managementUrl', '/\\evil.example'],
    ] as const) {
      // A given manifest is checked before any operation starts: 400, the field named.
      const refused = await call('POST', '/api/modules/install', {
        package: good,
        manifest: {
          name: 'fx-bad-link',
          manifestName: 'parachute-fixture-bad-link',
          port: 1989,
          paths: ['/fx-bad-link'],
          health: '/health',
          [field]: value,
        },
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toBe('invalid_manifest');
      expect(refused.json.error_description).toContain(
        `${field}: must be an http(s) URL, a path starting with /`,
      );
      expect((refused.json.fields as Record<string, string>)[field]).toContain(
        'must be an http(s) URL',
      );
    }
    // The hub is unharmed and installed nothing.
    expect((await call('GET', '/api/modules')).json.modules).toEqual([]);
  }, 60_000);
});
