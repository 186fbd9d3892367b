import { expect, test } from 'bun:test';
import { ADMIN, ApiClient } from './helpers/api.ts';
import { hubWithOperator, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();

test('GET /api/hub: signed out 401, a user 403, an admin the hub facts', async () => {
  const { url, hub } = await hubWithOperator(hubs);
  const anonymous = await new ApiClient(url).get('/api/hub');
  expect(anonymous.status).toBe(401);

  const admin = new ApiClient(url);
  await admin.login(ADMIN.username, ADMIN.password);
  const created = await admin.post('/api/users', { username: 'friend', role: 'user' });
  expect(created.status).toBe(201);
  const friend = new ApiClient(url);
  await friend.login('friend', created.json.temporary_password as string);
  expect((await friend.get('/api/hub')).status).toBe(403);

  const res = await admin.get('/api/hub');
  expect(res.status).toBe(200);
  const health = (await (await fetch(`${url}/health`)).json()) as { version: string };
  const info = res.json;
  expect(info.version).toBe(health.version);
  // The test binary is built from a git checkout, so it knows its commit.
  expect(info.commit).toMatch(/^[0-9a-f]{7,40}(-dirty)?$/);
  expect(info.origin).toBe(url);
  expect(['systemd', 'launchd', 'container', 'process']).toContain(info.platform as string);
  expect(info.region).toBeNull();
  expect(info.pid).toBe(hub.proc.pid);
  expect(info.home).toBe(hub.home);
  expect(info.uptime_s).toBeGreaterThanOrEqual(0);
  const started = Date.parse(info.started_at as string);
  expect(Math.abs(Date.now() - (info.uptime_s as number) * 1000 - started)).toBeLessThan(5000);
}, 60_000);

test('on Fly the hub says so: platform fly, its region and image, origin https://<app>.fly.dev', async () => {
  const { call } = await hubWithOperator(hubs, {
    FLY_APP_NAME: 'x',
    FLY_REGION: 'ams',
    FLY_IMAGE_REF: 'registry.fly.io/x:deployment-01J',
  });
  // The origin is https there, so this reads it with the operator token, as the CLI would.
  const res = await call('GET', '/api/hub');
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({
    platform: 'fly',
    region: 'ams',
    image: 'registry.fly.io/x:deployment-01J',
    origin: 'https://x.fly.dev',
    origin_source: 'FLY_APP_NAME',
  });
}, 60_000);
