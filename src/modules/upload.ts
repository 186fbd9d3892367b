import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The largest module tarball POST /api/modules/upload takes. */
export const UPLOAD_LIMIT = 50 * 1024 * 1024;

export type Received =
  | { ok: true; path: string }
  | { ok: false; status: 400 | 413; error: string; description: string };

const tooLarge = (): Received => ({
  ok: false,
  status: 413,
  error: 'payload_too_large',
  description: `A module upload may be at most ${UPLOAD_LIMIT / 1024 / 1024} MB.`,
});

/**
 * Streams an uploaded .tgz (the raw request body) to a new file readable
 * only by the hub, under $PARACHUTE_HOME/uploads; a declared length over the
 * limit is refused before a byte is read, and a chunked body at the limit.
 * The caller deletes the file once the install has ended.
 */
export async function receiveUpload(request: Request, home: string): Promise<Received> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > UPLOAD_LIMIT) return tooLarge();
  if (!request.body) return empty();
  const dir = join(home, 'uploads');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The name ends in .tgz: that is how the installer knows a local tarball.
  const path = join(dir, `${randomUUID()}.tgz`);
  const fd = openSync(path, 'wx', 0o600);
  let size = 0;
  let head: Uint8Array | undefined;
  try {
    // Leaving the loop cancels the rest of the body; the 413 then reaches the sender.
    for await (const chunk of request.body as ReadableStream<Uint8Array>) {
      size += chunk.byteLength;
      if (size > UPLOAD_LIMIT) {
        rmSync(path, { force: true });
        return tooLarge();
      }
      head ??= chunk;
      writeSync(fd, chunk);
    }
  } catch {
    rmSync(path, { force: true });
    return {
      ok: false,
      status: 400,
      error: 'invalid_request',
      description: 'The upload was cut off.',
    };
  } finally {
    closeSync(fd);
  }
  if (size === 0) {
    rmSync(path, { force: true });
    return empty();
  }
  // gzip's magic number: anything else is not a package tarball.
  if (head?.[0] !== 0x1f || head?.[1] !== 0x8b) {
    rmSync(path, { force: true });
    return {
      ok: false,
      status: 400,
      error: 'invalid_request',
      description: 'That file is not a .tgz package (as `npm pack` or `bun pm pack` makes).',
    };
  }
  return { ok: true, path };
}

function empty(): Received {
  return { ok: false, status: 400, error: 'invalid_request', description: 'The upload is empty.' };
}
