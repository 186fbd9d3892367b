import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importStaged, importStatusFile, stagedImportFile } from './staged-import.ts';

/** Every file under `dir` with its content, for before/after comparisons. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) Object.assign(out, snapshot(join(dir, entry.name), `${rel}/`));
    else out[rel] = readFileSync(join(dir, entry.name), 'utf8');
  }
  return out;
}

test('a staged export that fails to import puts the previous home back and says why', async () => {
  const home = mkdtempSync(join(tmpdir(), 'parachute-staged-'));
  for (const [path, text] of Object.entries({
    'hub.db': 'the empty hub',
    'operator.token': 'token',
    'fx-ledger/ledger.db': 'rows',
    'hub-binary/parachute': 'binary',
    'logs/hub.log': 'log',
  })) {
    mkdirSync(join(home, path, '..'), { recursive: true });
    writeFileSync(join(home, path), text);
  }
  mkdirSync(join(home, 'tmp', 'import'), { recursive: true });
  writeFileSync(stagedImportFile(home), 'not a gzip');
  const before = snapshot(home);
  const said: string[] = [];
  expect(await importStaged(home, (m) => said.push(m))).toBe(false);
  const { 'tmp/import/hub.tar.gz': staged, ...rest } = before;
  expect(staged).toBe('not a gzip');
  const after = snapshot(home);
  delete after['run/import.json'];
  // Everything back where it was; the staged archive gone; nothing left aside in tmp/.
  expect(after).toEqual(rest);
  expect(readdirSync(join(home, 'tmp'))).toEqual(['import']);
  const status = JSON.parse(readFileSync(importStatusFile(home), 'utf8'));
  expect(status.state).toBe('failed');
  expect(status.error).toContain('not a readable .tar.gz');
  expect(said.at(-1)).toContain("The hub's previous home is put back");
});
