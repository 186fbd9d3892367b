import { existsSync } from 'node:fs';

/**
 * True when the hub runs in a container whose platform (Fly, Render, Docker,
 * Podman) owns its lifecycle: there is no unit to install or read there.
 */
export function inContainer(
  env: Record<string, string | undefined> = process.env,
  exists: (path: string) => boolean = existsSync,
): boolean {
  if (env.FLY_APP_NAME || env.RENDER) return true;
  return exists('/.dockerenv') || exists('/run/.containerenv');
}

export const CONTAINER_STATE = 'container (managed by the platform)';
