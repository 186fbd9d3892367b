// Copies one database off the hub's event loop: bun:sqlite is synchronous,
// and VACUUM INTO, reading and hashing a large module database would stall
// every request meanwhile. The copy's bytes go back transferred, not copied.
import { Database } from 'bun:sqlite';
import { readFileSync } from 'node:fs';

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
    const bytes = new Uint8Array(readFileSync(copy));
    const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    self.postMessage({ ok: true, bytes, sha256 }, [bytes.buffer]);
  } catch (error) {
    self.postMessage({ ok: false, message: (error as Error).message });
  }
};
