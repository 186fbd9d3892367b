import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

// Streaming .tar.gz in both directions (tar-stream for the tar format,
// node:zlib for gzip), so an export or import holds one chunk of a file at a
// time, never the archive: a hub on a 512 MB machine exports gigabytes.

/** One file of an archive being written; `sha256` is of exactly the bytes archived. */
export interface Written {
  size: number;
  sha256: string;
}

export interface ArchiveWriter {
  /** Adds a file whose bytes are all at hand (small files, the manifest). */
  addBytes(name: string, bytes: Uint8Array | string, mode: number): Promise<Written>;
  /** Adds `size` bytes from `source`; fails if it gives fewer (the file shrank meanwhile). */
  addStream(
    name: string,
    size: number,
    mode: number,
    source: AsyncIterable<Uint8Array>,
  ): Promise<Written>;
}

/** Writes a gzip'd tar to `dest` (created 0600) from what `fill` adds, with backpressure. */
export async function writeArchive(
  dest: string,
  fill: (writer: ArchiveWriter) => Promise<void>,
): Promise<void> {
  const pack = tar.pack();
  // zlib's default level 6: level 1 leaves random-looking text (hex, base64) half
  // again as big; compression runs on zlib's threads, off the event loop.
  const done = pipeline(
    pack,
    createGzip({ level: 6 }),
    createWriteStream(dest, { mode: 0o600, flags: 'wx' }),
  );
  const header = (name: string, size: number, mode: number) => ({
    name,
    size,
    mode,
    mtime: new Date(0),
    type: 'file' as const,
  });
  const writer: ArchiveWriter = {
    addBytes(name, bytes, mode) {
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      return new Promise((resolve, reject) => {
        pack.entry(header(name, data.length, mode), data, (error) =>
          error ? reject(error) : resolve({ size: data.length, sha256: sha256Of(data) }),
        );
      });
    },
    addStream(name, size, mode, source) {
      const hash = new Bun.CryptoHasher('sha256');
      return new Promise((resolve, reject) => {
        const entry = pack.entry(header(name, size, mode), (error) =>
          error
            ? reject(new Error(`${name} changed size while it was being exported; export again`))
            : resolve({ size, sha256: hash.digest('hex') }),
        );
        (async () => {
          for await (const chunk of source) {
            hash.update(chunk);
            if (!entry.write(chunk))
              await new Promise<void>((drained) => entry.once('drain', () => drained()));
          }
          entry.end(undefined);
        })().catch((error) => {
          entry.destroy(error);
          reject(error);
        });
      });
    },
  };
  try {
    await fill(writer);
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await done.catch(() => {});
    throw error;
  }
  await done;
}

/** One entry of an archive being read; its bytes must be consumed (or drained) before the next. */
export interface ReadEntry {
  name: string;
  type: tar.Header['type'];
  size: number;
  mode: number;
  body: AsyncIterable<Uint8Array>;
}

/** Reads a .tar.gz entry by entry, streaming; a truncated or corrupt file throws. */
export async function readArchive(
  file: string,
  onEntry: (entry: ReadEntry) => Promise<void>,
): Promise<void> {
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), createGunzip(), extract);
  // A failure of the feed (bad gzip) ends the iteration below with that error.
  feeding.catch(() => {});
  try {
    for await (const source of extract) {
      const h = source.header;
      await onEntry({
        name: h.name,
        type: h.type,
        size: h.size,
        mode: h.mode,
        body: source as AsyncIterable<Uint8Array>,
      });
      // Whatever the handler left unread is skipped, so the archive reads on.
      for await (const _ of source) {
      }
    }
  } catch (error) {
    // Stops reading the file too, whoever failed.
    extract.destroy(error as Error);
    throw error;
  }
  await feeding;
}

function sha256Of(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
}
