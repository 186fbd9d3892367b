import { describe, expect, test } from 'bun:test';
import { OperatorError } from '../platform/operator-error.ts';
import {
  allowedHosts,
  appsDomainOf,
  HostPolicy,
  hostnameOf,
  isAppsDomainHost,
  routedUrl,
} from './hosts.ts';

const ENV = {
  PARACHUTE_ALLOWED_HOSTS: 'Hub.LAN, nas.local.',
  PARACHUTE_APPS_DOMAIN: '*.apps.example.com',
  RENDER_EXTERNAL_URL: 'https://my-hub.onrender.com',
  PARACHUTE_HUB_ORIGIN: 'https://hub.example.com',
};

/** A request as Bun's server hands it over: request.url is built from a Host it can parse. */
const visit = (host: string | null, path = '/api/modules', method = 'GET') =>
  new Request(`http://${host !== null && hostnameOf(host) ? host : 'unparsed'}${path}`, {
    method,
    headers: host === null ? {} : { host },
  });

describe('HostPolicy', () => {
  const policy = new HostPolicy(ENV);
  policy.issuer = () => 'https://saved.example.org';

  test.each([
    ['127.0.0.1:1939', null],
    ['localhost:1939', null],
    ['LOCALHOST.', null],
    ['[::1]:1939', null],
    ['10.1.2.3', null],
    ['saved.example.org', null],
    ['hub.example.com', null],
    ['my-hub.onrender.com', null],
    ['hub.lan:8080', null],
    ['nas.local', null],
    ['vault.apps.example.com', null],
    ['rebind.attacker.example:1939', 421],
    ['a', 421],
    ['apps.example.com', 421],
    ['a.b.apps.example.com', 421],
    ['0x7f.1', 421],
    ['hub.lan.attacker.example', 421],
    ['a b', 400],
    ['a, b', 400],
    ['a@b', 400],
    ['x/y', 400],
    ['', 400],
  ])('Host %p → %p', async (host, status) => {
    const refused = policy.refusal(visit(host));
    expect(refused?.status ?? null).toBe(status);
    if (status === 421) {
      const body = (await refused?.json()) as { error: string; error_description: string };
      expect(body.error).toBe('misdirected_request');
      expect(body.error_description).toContain('PARACHUTE_ALLOWED_HOSTS');
    }
  });

  test('probes answer under any name (platform health checkers send their own Host)', () => {
    expect(policy.refusal(visit('10-0-0-5.internal', '/health'))).toBeNull();
    expect(policy.refusal(visit('10-0-0-5.internal', '/api/ready', 'HEAD'))).toBeNull();
    expect(policy.refusal(visit('10-0-0-5.internal', '/health', 'POST'))?.status).toBe(421);
    expect(policy.refusal(visit('10-0-0-5.internal', '/health/x'))?.status).toBe(421);
  });

  test('follows the issuer when the admin changes the origin', () => {
    const p = new HostPolicy({});
    let issuer = 'http://127.0.0.1:1939';
    p.issuer = () => issuer;
    expect(p.allows('hub.new.example')).toBe(false);
    issuer = 'https://hub.new.example';
    expect(p.allows('hub.new.example')).toBe(true);
  });

  test('the last allowed Host is remembered only while the issuer and apps domain stay', () => {
    const p = new HostPolicy({});
    let issuer = 'https://hub.old.example';
    let apps: string | null = 'apps.example.com';
    p.issuer = () => issuer;
    p.appsDomain = () => apps;
    for (const host of ['hub.old.example', 'vault.apps.example.com']) {
      expect(p.refusal(visit(host))).toBeNull();
      expect(p.refusal(visit(host))).toBeNull();
    }
    issuer = 'https://hub.new.example';
    expect(p.refusal(visit('hub.old.example'))?.status).toBe(421);
    expect(p.refusal(visit('vault.apps.example.com'))).toBeNull();
    apps = null;
    expect(p.refusal(visit('vault.apps.example.com'))?.status).toBe(421);
    // A bare request-target under an allowed Host is still refused.
    expect(p.refusal(visit('hub.new.example'))).toBeNull();
    const bare = { url: '/x', method: 'GET', headers: new Headers({ host: 'hub.new.example' }) };
    expect(p.refusal(bare as unknown as Request)?.status).toBe(400);
  });

  test('a request without Host is a 400 that says what to send', async () => {
    const refused = policy.refusal(visit(null)) as Response;
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error_description: string }).error_description).toBe(
      'The request has no Host header. Send one host name, e.g. Host: 127.0.0.1:1939.',
    );
  });
});

test.each([
  ['127.0.0.1:1939', '127.0.0.1'],
  ['Example.COM.:99', 'example.com'],
  ['[::1]', '[::1]'],
  ['a', 'a'],
  ['a b', null],
  ['a:b', null],
  ['[zz]', null],
])('hostnameOf(%p) is %p', (header, name) => {
  expect(hostnameOf(header)).toBe(name);
});

test('PARACHUTE_ALLOWED_HOSTS takes bare names; anything else is a startup error naming it', () => {
  expect(allowedHosts({ PARACHUTE_ALLOWED_HOSTS: ' a.example ,, B.example. ' })).toEqual([
    'a.example',
    'b.example',
  ]);
  for (const entry of ['https://hub.example.com', 'hub.example.com:8443', '*.example.com']) {
    const attempt = () => allowedHosts({ PARACHUTE_ALLOWED_HOSTS: `ok.example,${entry}` });
    expect(attempt).toThrow(OperatorError);
    expect(attempt).toThrow(`PARACHUTE_ALLOWED_HOSTS: "${entry}" is not a host name.`);
  }
});

test('apps-domain hosts are one label under PARACHUTE_APPS_DOMAIN', () => {
  const domain = appsDomainOf({ PARACHUTE_APPS_DOMAIN: '.Apps.Example.com' });
  expect(domain).toBe('apps.example.com');
  expect(isAppsDomainHost('vault.apps.example.com', domain)).toBe(true);
  expect(isAppsDomainHost('apps.example.com', domain)).toBe(false);
  expect(isAppsDomainHost('x.vault.apps.example.com', domain)).toBe(false);
  expect(isAppsDomainHost('vaultapps.example.com', domain)).toBe(false);
  // Not a module's name, so not a module's origin, and never the hub's either.
  for (const name of ['x_y', '1vault', '-vault']) {
    expect(isAppsDomainHost(`${name}.apps.example.com`, domain)).toBe(false);
  }
  expect(isAppsDomainHost('vault.apps.example.com', null)).toBe(false);
});

test('hub routes see the issuer origin and the path the hub parsed, whatever the Host', () => {
  expect(routedUrl(visit('a', '/xyz/api/modules?x=1'), 'http://127.0.0.1:1939')).toBe(
    'http://127.0.0.1:1939/xyz/api/modules?x=1',
  );
});
