import { describe, expect, test } from 'bun:test';
import { detectPlatform, type PlatformProbe } from './host-platform.ts';

const linux: PlatformProbe = { exists: () => false, os: 'linux' };
const mac: PlatformProbe = { exists: () => false, os: 'darwin' };
const docker: PlatformProbe = { exists: (p) => p === '/.dockerenv', os: 'linux' };
const podman: PlatformProbe = { exists: (p) => p === '/run/.containerenv', os: 'linux' };

describe('detectPlatform', () => {
  test('Fly: its app name, region and image, even inside its container', () => {
    expect(
      detectPlatform(
        { FLY_APP_NAME: 'x', FLY_REGION: 'iad', FLY_IMAGE_REF: 'registry.fly.io/x:deployment-1' },
        docker,
      ),
    ).toEqual({
      platform: 'fly',
      region: 'iad',
      image: 'registry.fly.io/x:deployment-1',
      deployedCommit: null,
    });
  });

  test('Render: RENDER or RENDER_EXTERNAL_URL, with the commit it deployed', () => {
    expect(detectPlatform({ RENDER: 'true', RENDER_GIT_COMMIT: 'abc123' }, docker)).toEqual({
      platform: 'render',
      region: null,
      image: null,
      deployedCommit: 'abc123',
    });
    expect(detectPlatform({ RENDER_EXTERNAL_URL: 'https://p.onrender.com' }, linux).platform).toBe(
      'render',
    );
  });

  test('systemd: a service gets INVOCATION_ID (on Linux only)', () => {
    expect(detectPlatform({ INVOCATION_ID: 'f00d' }, linux).platform).toBe('systemd');
    expect(detectPlatform({ INVOCATION_ID: 'f00d' }, mac).platform).toBe('process');
  });

  test('launchd: a job label in XPC_SERVICE_NAME, not a terminal or an app', () => {
    expect(detectPlatform({ XPC_SERVICE_NAME: 'computer.parachute.hub' }, mac).platform).toBe(
      'launchd',
    );
    expect(detectPlatform({ XPC_SERVICE_NAME: '0' }, mac).platform).toBe('process');
    expect(
      detectPlatform({ XPC_SERVICE_NAME: 'application.com.googlecode.iterm2.1' }, mac).platform,
    ).toBe('process');
  });

  test('a container: Docker or Podman marker files', () => {
    expect(detectPlatform({}, docker).platform).toBe('container');
    expect(detectPlatform({}, podman).platform).toBe('container');
  });

  test('otherwise a plain process; blank values count as unset', () => {
    expect(detectPlatform({ FLY_APP_NAME: ' ', RENDER: '', FLY_REGION: '' }, linux)).toEqual({
      platform: 'process',
      region: null,
      image: null,
      deployedCommit: null,
    });
  });
});
