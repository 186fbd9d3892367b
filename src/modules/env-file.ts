import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { parseDotEnv } from './child-env.ts';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What GET shows for every value: settings are often secrets. */
export const MASK = '••••••';

export class EnvEditError extends Error {}

/** The keys of a module's .env, values masked. */
export function envKeys(path: string): { key: string; value: string }[] {
  if (!existsSync(path)) return [];
  return Object.keys(parseDotEnv(readFileSync(path, 'utf8'))).map((key) => ({ key, value: MASK }));
}

/**
 * Sets (a string) or removes (null) the given keys of a module's .env,
 * keeping its other lines and comments; written 0600 by an atomic rename.
 */
export function updateEnv(path: string, changes: Record<string, string | null>): void {
  for (const [key, value] of Object.entries(changes)) {
    if (!KEY.test(key)) {
      throw new EnvEditError(
        `${JSON.stringify(key)} is not a valid name: use letters, digits and _`,
      );
    }
    if (value !== null && /[\r\n]/.test(value)) {
      throw new EnvEditError(`${key}: a value must be a single line`);
    }
    if (value?.includes('"') && value.includes("'")) {
      throw new EnvEditError(`${key}: a value may hold ' or " but not both`);
    }
  }
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  if (lines.at(-1) === '') lines.pop();
  const pending = new Map(Object.entries(changes));
  const kept: string[] = [];
  for (const line of lines) {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (key === undefined || !pending.has(key)) {
      kept.push(line);
      continue;
    }
    const value = pending.get(key);
    pending.delete(key);
    if (value !== null && value !== undefined) kept.push(`${key}=${quoted(value)}`);
  }
  for (const [key, value] of pending) if (value !== null) kept.push(`${key}=${quoted(value)}`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, kept.length ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
}

// parseDotEnv strips one pair of matching quotes, so any value reads back as written.
function quoted(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
