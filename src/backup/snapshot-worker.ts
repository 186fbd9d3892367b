// Copies one database off the hub's event loop: bun:sqlite is synchronous,
// and VACUUM INTO of a large module database would stall every request
// meanwhile. The copy stays on disk; the export streams it from there.
import { Database } from 'bun:sqlite';
import { countRows } from './row-counts.ts';

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ path: string; copy: string }>) => {
  const { path, copy } = event.data;
  try {
    // Never create: a database deleted since the walk is not made anew in the module's folder.
    const db = new Database(path, { readwrite: true, create: false });
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.run('VACUUM INTO ?', [copy]);
    } finally {
      db.close();
    }
    // The copy is the database at the snapshot's instant: its rows are what a restore must give back.
    self.postMessage({ ok: true, rows: countRows(copy) });
  } catch (error) {
    self.postMessage({ ok: false, message: (error as Error).message });
  }
};
