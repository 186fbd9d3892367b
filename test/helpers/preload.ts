// Loaded before every test file (bunfig.toml): hooks here run once for the
// whole run, after the last file.
import { afterAll } from 'bun:test';
import { removeTestDirs } from './binary.ts';

afterAll(removeTestDirs);
