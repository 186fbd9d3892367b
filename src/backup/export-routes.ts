import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { log } from '../platform/log.ts';
import { writeExport } from './export.ts';

/**
 * GET /api/hub/export (admins): the whole hub as one .tar.gz download
 * (deploy.md, "Export and import"). The archive is built in
 * $PARACHUTE_HOME/tmp (renamed there only once complete), streamed, then
 * deleted. One export at a time, until its download has ended: a second
 * answers 409 (and an export removes what a killed one left in tmp/).
 */
export function exportRoutes(ctx: AuthContext) {
  let running = false;
  return new Elysia({ name: 'hub.export' })
    .use(requireAuth(ctx))
    .get('/api/hub/export', async ({ request, principal, status }) => {
      if (running) {
        return status(409, {
          error: 'export_running',
          error_description: 'An export is already being made; try again when it has finished.',
        });
      }
      running = true;
      const path = join(ctx.home, 'tmp', `export-${randomUUID()}.tar.gz`);
      const started = performance.now();
      // Recorded first, so the export itself carries the entry that it was made.
      audit(ctx, request, principal, { action: 'hub.export', target: 'hub', outcome: 'started' });
      try {
        const result = await writeExport(ctx.home, path);
        const ms = Math.round(performance.now() - started);
        log.info(`export of ${result.files} files (${result.bytes} bytes) made in ${ms} ms`);
        audit(ctx, request, principal, {
          action: 'hub.export',
          target: 'hub',
          outcome: 'success',
          detail: { files: result.files, databases: result.databases, bytes: result.bytes, ms },
        });
        const name = `parachute-export-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
        const body = streamThenDelete(path, () => {
          running = false;
        });
        // Sent chunked (Bun sets no length on a stream): `parachute export` checks the
        // whole archive against its manifest, so a cut download is never kept.
        return new Response(body, {
          headers: {
            'content-type': 'application/gzip',
            'content-disposition': `attachment; filename="${name}"`,
            'cache-control': 'no-store',
          },
        });
      } catch (error) {
        running = false;
        rmSync(path, { force: true });
        audit(ctx, request, principal, {
          action: 'hub.export',
          target: 'hub',
          outcome: 'failure',
          detail: { error: (error as Error).message },
        });
        throw error;
      }
    });
}

/** The file's bytes as a stream; the file is deleted once sent or abandoned. */
export function streamThenDelete(path: string, ended: () => void): ReadableStream<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  const done = () => {
    rmSync(path, { force: true });
    ended();
  };
  return new ReadableStream({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          done();
        } else controller.enqueue(value);
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    cancel() {
      done();
      return reader.cancel();
    },
  });
}
