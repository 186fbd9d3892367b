import { closeSync, constants, fstatSync, openSync, readSync, rmSync } from 'node:fs';
import { OperatorError } from '../platform/operator-error.ts';
import { run } from '../platform/units/run.ts';
import { UNIT_NAME } from '../platform/units/unit-config.ts';
import { upgradeRequestFile } from '../platform/units/upgrade-trigger.ts';

export interface UpgradeRequest {
  id: string;
  to?: string;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VERSION = /^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/;

/**
 * Reads and removes the request the system hub wrote, as root: the file is
 * in a folder the hub's account owns, so it is opened without following a
 * link, must be a small regular file, and holds only an id and a version.
 * Its content is never echoed (it could be anything).
 */
export function takeRequest(home: string): UpgradeRequest {
  const file = upgradeRequestFile(home);
  let text = '';
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > 4096) throw new Error('not a small regular file');
      const buffer = Buffer.alloc(stat.size);
      readSync(fd, buffer, 0, stat.size, 0);
      text = buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    text = '';
  } finally {
    // Removed first thing: the path unit starts this service for as long as the file exists.
    rmSync(file, { force: true });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const body = parsed as { id?: unknown; to?: unknown } | null;
  const id = typeof body?.id === 'string' && ID.test(body.id) ? body.id : null;
  const to = body?.to;
  if (!id || (to !== undefined && (typeof to !== 'string' || !VERSION.test(to)))) {
    throw new OperatorError(
      `${file} is not an upgrade request the hub wrote.`,
      'Ignored. Upgrade from the admin UI or with `sudo parachute upgrade --hub`.',
    );
  }
  return { id, ...(typeof to === 'string' ? { to } : {}) };
}

/**
 * The hub unit's environment as systemd merged it (the unit and its
 * drop-ins, all root-owned): where the hub downloads releases from is
 * configured there, never taken from the request.
 */
export async function hubUnitEnvironment(): Promise<Record<string, string>> {
  const out = await run(['systemctl', 'show', '-p', 'Environment', '--value', UNIT_NAME]);
  const env: Record<string, string> = {};
  for (const word of out.stdout.trim().split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}
