import { describe, expect, test } from 'bun:test';
import { newer } from '../upgrade/latest-release.ts';
import {
  assetOf,
  checksumFor,
  detectAsset,
  RELEASE_TARGETS,
  releaseFolder,
} from './release-asset.ts';

const published = RELEASE_TARGETS.map(assetOf);

describe('detectAsset picks a published asset, as install.sh does', () => {
  const cases: [Parameters<typeof detectAsset>[0], string][] = [
    [{ platform: 'linux', arch: 'x64', musl: false, avx2: true }, 'parachute-linux-x64'],
    [{ platform: 'linux', arch: 'x64', musl: false, avx2: false }, 'parachute-linux-x64-baseline'],
    [
      { platform: 'linux', arch: 'x64', musl: true, avx2: false },
      'parachute-linux-x64-musl-baseline',
    ],
    [{ platform: 'linux', arch: 'arm64', musl: true, avx2: false }, 'parachute-linux-arm64-musl'],
    [{ platform: 'darwin', arch: 'arm64', musl: false, avx2: false }, 'parachute-darwin-arm64'],
    [{ platform: 'darwin', arch: 'x64', musl: true, avx2: true }, 'parachute-darwin-x64'],
  ];
  for (const [facts, asset] of cases) {
    test(`${JSON.stringify(facts)} -> ${asset}`, () => {
      expect(detectAsset(facts)).toBe(asset);
      expect(published).toContain(asset);
    });
  }
  test('another system or processor is refused with what is supported', () => {
    expect(() => detectAsset({ platform: 'win32', arch: 'x64', musl: false, avx2: true })).toThrow(
      'Linux and macOS',
    );
    expect(() =>
      detectAsset({ platform: 'linux', arch: 'ia32', musl: false, avx2: false }),
    ).toThrow('x86_64 and arm64');
  });
});

test('checksumFor reads sha256sum lines (text and binary mode) and only the exact asset', () => {
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  const sums = `${a}  parachute-linux-x64-baseline\n${b} *parachute-linux-x64\n`;
  expect(checksumFor(sums, 'parachute-linux-x64')).toBe('b'.repeat(64));
  expect(checksumFor(sums, 'parachute-linux-x64-baseline')).toBe(a);
  expect(checksumFor(sums, 'parachute-linux-arm64')).toBeNull();
  expect(checksumFor('garbage', 'parachute-linux-x64')).toBeNull();
});

test('releaseFolder: PARACHUTE_RELEASE_URL is one release; else the latest or download/v<V>', () => {
  expect(releaseFolder({ PARACHUTE_RELEASE_URL: 'http://x/r/' }, '1.0.0')).toBe('http://x/r');
  expect(releaseFolder({})).toEndWith('/releases/latest/download');
  expect(releaseFolder({}, 'v1.2.3')).toEndWith('/releases/download/v1.2.3');
});

test('newer compares versions numerically; a pre-release sorts before its release', () => {
  expect(newer('0.10.0', '0.9.9')).toBe(true);
  expect(newer('0.1.0', '0.1.0')).toBe(false);
  expect(newer('1.0.0', '1.0.0-rc.1')).toBe(true);
  expect(newer('1.0.0-rc.1', '1.0.0')).toBe(false);
  expect(newer('0.9.0', '0.10.0')).toBe(false);
});
