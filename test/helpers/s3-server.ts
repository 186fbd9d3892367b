// A real S3-speaking server on loopback for the backup tests: s3rver (npm)
// run under Node by s3rver-launcher.mjs, with its own bucket and keys, plus a
// fault proxy in front of it whose behaviour a test switches at runtime.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server, Subprocess } from 'bun';
import { waitFor } from './binary.ts';

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps the objects (a test may look at or damage them). */
  dir: string;
  stop: () => Promise<void>;
}

const LAUNCHER = join(import.meta.dir, 's3rver-launcher.mjs');
const running = new Set<Subprocess>();
// The launcher exits when its stdin closes, so even a test runner killed
// outright leaves no s3rver behind; this covers a normal exit sooner.
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** Starts s3rver on a free loopback port with one bucket and fresh random keys. */
export async function startS3Server(bucket = 'parachute-backups'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'parachute-s3rver-'));
  const accessKeyId = `AK${crypto.randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
  const secretAccessKey = crypto.randomUUID() + crypto.randomUUID();
  const proc = Bun.spawn(
    ['node', LAUNCHER, JSON.stringify({ directory: dir, bucket, accessKeyId, secretAccessKey })],
    { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
  );
  running.add(proc);
  let out = '';
  void (async () => {
    for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
  })();
  const port = await waitFor(
    's3rver to listen',
    () => {
      if (proc.exitCode !== null) throw new Error(`s3rver exited ${proc.exitCode}`);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    },
    20_000,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  // Ready means it answers S3: an unsigned request gets a reply (AccessDenied is fine).
  await waitFor('s3rver to answer', async () =>
    (await fetch(`${endpoint}/${bucket}`).catch(() => null)) ? true : undefined,
  );
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    dir,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      running.delete(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * pass: forward everything. down: nothing listens on the port (connection
 * refused). corruptGets: object downloads arrive with one byte flipped.
 * error500: every request gets 500 InternalError. truncateGets: object
 * downloads end halfway. hang: connections are accepted, never answered
 * (until the mode changes).
 */
export type FaultMode = 'pass' | 'down' | 'corruptGets' | 'error500' | 'truncateGets' | 'hang';

export interface FaultProxy {
  endpoint: string;
  mode: FaultMode;
  /** Requests seen, e.g. to check a multipart upload happened. */
  requests: { method: string; path: string; query: string }[];
  set: (mode: FaultMode) => void;
  stop: () => void;
}

/** A loopback HTTP proxy to `upstream` whose faults a test switches while it runs. */
export function faultProxy(upstream: string): FaultProxy {
  let server: Server<undefined> | null = null;
  let port = 0;
  const hanging: (() => void)[] = [];
  const proxy: FaultProxy = {
    endpoint: '',
    mode: 'pass',
    requests: [],
    set(mode) {
      proxy.mode = mode;
      for (const release of hanging.splice(0)) release();
      if (mode === 'down' && server) {
        server.stop(true);
        server = null;
      } else if (mode !== 'down' && !server) listen();
    },
    stop() {
      for (const release of hanging.splice(0)) release();
      server?.stop(true);
      server = null;
    },
  };

  async function forward(request: Request): Promise<Response> {
    const url = new URL(request.url);
    proxy.requests.push({ method: request.method, path: url.pathname, query: url.search });
    if (proxy.mode === 'hang') {
      await new Promise<void>((release) => hanging.push(release));
      return new Response('released', { status: 503 });
    }
    if (proxy.mode === 'error500')
      return new Response(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
        { status: 500, headers: { 'content-type': 'application/xml' } },
      );
    // Same Host header as the client signed (SigV4 covers it); a part is at
    // most a few MiB, so buffering bodies here is fine.
    const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body,
      redirect: 'manual',
      decompress: false,
    } as RequestInit);
    const headers = new Headers(answer.headers);
    // An object GET: a key after the bucket and no sub-resource query.
    const objectGet =
      request.method === 'GET' &&
      url.pathname.split('/').filter(Boolean).length >= 2 &&
      !url.search;
    if (!objectGet || answer.status !== 200 || proxy.mode === 'pass')
      return new Response(answer.body, { status: answer.status, headers });
    const bytes = new Uint8Array(await answer.arrayBuffer());
    if (proxy.mode === 'corruptGets') {
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = (bytes[middle] ?? 0) ^ 0x40;
      return new Response(bytes, { status: 200, headers });
    }
    // truncateGets: promise the full length (content-length), send half, end.
    const half = bytes.subarray(0, Math.floor(bytes.length / 2));
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(half);
          controller.close();
        },
      }),
      { status: 200, headers },
    );
  }

  function listen(): void {
    server = Bun.serve({ hostname: '127.0.0.1', port, fetch: forward, idleTimeout: 0 });
    port = server.port ?? 0;
    proxy.endpoint = `http://127.0.0.1:${port}`;
  }
  listen();
  return proxy;
}
