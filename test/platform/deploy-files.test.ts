/**
 * fly.toml and render.yaml (deploy.md, "Containers"): parsed as the
 * platforms parse them, with the keys each one requires, every key one it
 * knows (a misspelt key is silently ignored by both, and the setting with
 * it), and agreeing with the Dockerfile on port and volume. References:
 * https://fly.io/docs/reference/configuration/ and
 * https://render.com/docs/blueprint-spec.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dir, '../..');
const read = (file: string) => readFileSync(join(REPO, file), 'utf8');

// What the image declares (one instruction each in our own Dockerfile).
const dockerfile = read('Dockerfile');
const exposed = Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]);
const volumePath = /^VOLUME (\S+)$/m.exec(dockerfile)?.[1];

/** The hub's longest clean stop: modules' SIGTERM grace + SIGKILL wait, then the server's drain. */
const HUB_STOP_S = 5 + 5 + 5;

type Table = Record<string, unknown>;

/** Fails naming every key of `table` that is not in `known`. */
function onlyKnownKeys(where: string, table: Table, known: string[]): void {
  const unknown = Object.keys(table).filter((k) => !known.includes(k));
  expect(unknown.map((k) => `${where}.${k}`)).toEqual([]);
}

/** Go-style durations as Fly reads them ("15s", "1m30s"). */
function seconds(duration: unknown): number {
  const parts = [...String(duration).matchAll(/(\d+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== String(duration)) return Number.NaN;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

describe('fly.toml', () => {
  const fly = Bun.TOML.parse(read('fly.toml')) as Table;

  test('has what Fly requires: an app, the region, the Dockerfile, a volume at /parachute', () => {
    onlyKnownKeys('fly', fly, [
      'app',
      'primary_region',
      'kill_signal',
      'kill_timeout',
      'swap_size_mb',
      'console_command',
      'build',
      'deploy',
      'env',
      'http_service',
      'services',
      'checks',
      'vm',
      'mounts',
      'processes',
      'statics',
      'metrics',
      'experimental',
      'restart',
      'files',
    ]);
    // App names: lowercase letters, digits and dashes (the README says to pick your own).
    expect(fly.app).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(fly.primary_region).toBe('iad');
    const build = fly.build as Table;
    expect(existsSync(join(REPO, String(build.dockerfile)))).toBe(true);

    // One volume per machine on Fly; it holds everything the hub writes.
    const mounts = fly.mounts as Table[];
    expect(mounts).toHaveLength(1);
    const [mount] = mounts as [Table];
    onlyKnownKeys('mounts', mount, [
      'source',
      'destination',
      'initial_size',
      'processes',
      'auto_extend_size_threshold',
      'auto_extend_size_increment',
      'auto_extend_size_limit',
      'snapshot_retention',
      'scheduled_snapshots',
    ]);
    // Volume names: letters, digits and underscores, at most 30.
    expect(mount.source).toMatch(/^[a-z0-9_]{1,30}$/);
    expect(mount.destination).toBe(volumePath ?? '');
    expect(mount.destination).toBe('/parachute');
  });

  test('one always-on machine behind HTTPS on the hub port, health-checked at GET /health', () => {
    const http = fly.http_service as Table;
    onlyKnownKeys('http_service', http, [
      'internal_port',
      'force_https',
      'auto_stop_machines',
      'auto_start_machines',
      'min_machines_running',
      'processes',
      'concurrency',
      'checks',
      'http_options',
      'tls_options',
    ]);
    expect(http.internal_port).toBe(1939);
    expect(http.internal_port).toBe(exposed);
    expect(http.force_https).toBe(true);
    // "off", not false: both stop nothing, but "off" is the documented value.
    expect(http.auto_stop_machines).toBe('off');
    expect(http.min_machines_running).toBe(1);

    const checks = http.checks as Table[];
    const health = checks.find((c) => c.path === '/health');
    if (!health) throw new Error('no http_service check of /health');
    onlyKnownKeys('http_service.checks', health, [
      'method',
      'path',
      'interval',
      'timeout',
      'grace_period',
      'protocol',
      'headers',
      'tls_server_name',
      'tls_skip_verify',
    ]);
    expect(String(health.method).toUpperCase()).toBe('GET');
    for (const key of ['interval', 'timeout', 'grace_period'] as const)
      expect(seconds(health[key])).toBeGreaterThan(0);
    expect(seconds(health.timeout)).toBeLessThan(seconds(health.interval));

    // The env the image sets, said again where the operator sees it, and agreeing.
    const env = fly.env as Table;
    expect(env).toMatchObject({
      PARACHUTE_HOME: '/parachute',
      PARACHUTE_BIND_HOST: '0.0.0.0',
      PORT: String(http.internal_port),
    });
    for (const value of Object.values(env)) expect(typeof value).toBe('string');
  });

  test('a shared-cpu-1x machine with 512 MB, stopped with SIGTERM and time for a clean stop', () => {
    const [vm, ...more] = fly.vm as Table[];
    expect(more).toEqual([]);
    expect(vm).toEqual({ size: 'shared-cpu-1x', memory: '512mb' });
    expect(fly.kill_signal).toBe('SIGTERM');
    // Fly's default is 5 s: modules would be killed mid-stop.
    expect(Number(fly.kill_timeout)).toBeGreaterThan(HUB_STOP_S);
    expect(Number(fly.kill_timeout)).toBeLessThanOrEqual(300);
  });
});

describe('render.yaml', () => {
  const blueprint = Bun.YAML.parse(read('render.yaml')) as Table;

  test('one web service from the image, with a paid plan (disks need one) and a region Render has', () => {
    onlyKnownKeys('render', blueprint, [
      'services',
      'databases',
      'envVarGroups',
      'projects',
      'ungrouped',
      'previews',
    ]);
    const services = blueprint.services as Table[];
    expect(services).toHaveLength(1);
    const [web] = services as [Table];
    onlyKnownKeys('services[0]', web, [
      'type',
      'name',
      'runtime',
      'image',
      'plan',
      'region',
      'healthCheckPath',
      'numInstances',
      'envVars',
      'disk',
      'dockerCommand',
      'autoDeploy',
      'domains',
      'maxShutdownDelaySeconds',
      'preDeployCommand',
    ]);
    expect(web.type).toBe('web');
    expect(web.name).toMatch(/^[a-z0-9-]+$/);
    // A Docker build on Render starts from a git clone, which has no compiled binary.
    expect(web.runtime).toBe('image');
    const image = web.image as Table;
    expect(String(image.url)).toMatch(/^[a-z0-9.-]+\/[^\s:]+\/parachute:[\w.-]+$/);
    expect(['starter', 'standard', 'pro', 'pro plus', 'pro max', 'pro ultra']).toContain(
      web.plan as string,
    );
    expect(['oregon', 'ohio', 'virginia', 'frankfurt', 'singapore']).toContain(
      web.region as string,
    );
    // A service with a disk runs a single instance.
    expect(web.numInstances).toBe(1);
  });

  test('health at /health, a disk at /parachute, and the same env as the image', () => {
    const [web] = blueprint.services as Table[] as [Table];
    expect(web.healthCheckPath).toBe('/health');
    const disk = web.disk as Table;
    onlyKnownKeys('disk', disk, ['name', 'mountPath', 'sizeGB']);
    expect(disk.name).toMatch(/^[a-z0-9-]+$/);
    expect(disk.mountPath).toBe(volumePath ?? '');
    expect(Number.isInteger(disk.sizeGB) && (disk.sizeGB as number) >= 1).toBe(true);

    const envVars = web.envVars as Table[];
    for (const v of envVars) {
      onlyKnownKeys('envVars[]', v, ['key', 'value', 'sync', 'generateValue', 'fromGroup']);
      expect(typeof v.value).toBe('string');
    }
    const env = Object.fromEntries(envVars.map((v) => [v.key, v.value]));
    expect(env).toEqual({
      PARACHUTE_HOME: '/parachute',
      PARACHUTE_BIND_HOST: '0.0.0.0',
      PORT: String(exposed),
    });
  });
});
