import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-write.ts';

/**
 * Writes `bun` (and `node`, when the host has none) into
 * $PARACHUTE_HOME/bin as scripts that run this binary as Bun, so a module
 * whose bin starts `#!/usr/bin/env bun` runs on a host with no Bun.
 */
export function ensureShims(binDir: string, hubBinary: string, hostPath: string): void {
  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  const script = `#!/bin/sh\n# Written by parachute: run its embedded Bun.\nBUN_BE_BUN=1 exec "${hubBinary.replaceAll('"', '\\"')}" "$@"\n`;
  const names = ['bun', 'bunx'];
  if (!Bun.which('node', { PATH: hostPath })) names.push('node');
  for (const name of names) {
    const path = join(binDir, name);
    const content = name === 'bunx' ? script.replace('"$@"', 'x "$@"') : script;
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    writeFileAtomic(path, content, { mode: 0o755 });
    chmodSync(path, 0o755);
  }
}
