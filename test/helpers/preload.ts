// Loaded before every test file (bunfig.toml): hooks here run once for the
// whole run, after the last file.
import { afterAll } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTestDirs } from './binary.ts';

// Every temp folder a test (or a hub or module it starts) makes goes under one
// folder for the run, removed at the end, so runs never pile up in /tmp.
const runDir = mkdtempSync(join(tmpdir(), 'parachute-test-run-'));
process.env.TMPDIR = runDir;

afterAll(() => {
  removeTestDirs();
  if (process.env.PARACHUTE_KEEP_TEST_DIRS !== '1')
    rmSync(runDir, { recursive: true, force: true });
});
