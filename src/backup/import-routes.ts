import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import type { AuthContext } from '../auth/context.ts';
import { bearerIs } from '../auth/guard.ts';
import { sha256Hex } from '../auth/hash.ts';
import { IMPORT_EXIT, requestLauncherExit, underLauncher } from '../fly/launcher-exit.ts';
import { stagedImportFile } from '../fly/staged-import.ts';
import { errorBody } from '../hub/error-body.ts';
import type { ModuleManager } from '../modules/manager.ts';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { log } from '../platform/log.ts';
import { checkExport } from './import.ts';

/** The one hub route besides a module upload whose body is streamed, not bounded (hub/hub.ts). */
export const HUB_IMPORT_PATH = '/api/hub/import';

/** The largest export the import takes (a Fly volume is a few GB). */
export const IMPORT_LIMIT = 8 * 1024 ** 3;

/** Holds the SHA-256 of the import token once used: that token never imports again. */
export function usedTokenMarker(home: string): string {
  return join(home, 'import-token.used');
}

/**
 * POST /api/hub/import: how `parachute deploy fly --from-here` moves a hub
 * onto a new Fly machine. Only with the one-time PARACHUTE_IMPORT_TOKEN (a
 * Fly secret) as the bearer, only on an empty hub (no user, no module), only
 * once per token (marked used before a byte is stored), only under the
 * launcher, which does the import after this hub exits 76. The archive is
 * streamed to <home>/tmp/import/hub.tar.gz and verified whole (checkExport)
 * before the 202.
 */
export function importRoutes(ctx: AuthContext, modules: ModuleManager) {
  return new Elysia({ name: 'hub.import' }).post(
    HUB_IMPORT_PATH,
    async ({ request, status }) => {
      if (!bearerIs(request, ctx.env.PARACHUTE_IMPORT_TOKEN)) {
        return status(
          401,
          errorBody(
            'unauthenticated',
            "An import needs this hub's one-time import token (PARACHUTE_IMPORT_TOKEN) as the bearer token.",
          ),
        );
      }
      if (!underLauncher(ctx.env)) {
        return status(
          409,
          errorBody(
            'no_launcher',
            'This hub is not run by `parachute fly-boot`, which does the import: use `parachute import <file>` on its machine instead.',
          ),
        );
      }
      const spent = sha256Hex((ctx.env.PARACHUTE_IMPORT_TOKEN ?? '').trim());
      const marker = usedTokenMarker(ctx.home);
      if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === spent) {
        return status(
          409,
          errorBody(
            'import_token_used',
            'This import token was used already. Set a new PARACHUTE_IMPORT_TOKEN (re-run `parachute deploy fly --from-here`) to try again.',
          ),
        );
      }
      if (hubHasContent(ctx) || modules.list().length > 0) {
        return status(
          409,
          errorBody(
            'hub_not_empty',
            'This hub already has accounts or modules: an import only goes into an empty hub, it never merges.',
          ),
        );
      }
      if (Number(request.headers.get('content-length') ?? 0) > IMPORT_LIMIT)
        return tooLarge(status);
      // Spent from here on, whatever follows: a second try needs a new token.
      writeFileAtomic(marker, `${spent}\n`, { mode: 0o600 });
      log.info('import: receiving an export with the import token');
      const file = stagedImportFile(ctx.home);
      const received = await receive(request, file);
      if (received === 'too_large') return tooLarge(status);
      if (received !== 'ok') {
        return status(400, errorBody('invalid_export', received));
      }
      try {
        await checkExport(file);
      } catch (error) {
        rmSync(file, { force: true });
        // Named as the sender knows it, not by the path it was staged at.
        const message = (error as Error).message.replaceAll(file, 'the uploaded export');
        log.warn(`import refused: ${message}`);
        return status(400, errorBody('invalid_export', message));
      }
      log.info('import: the export is verified; restarting into it');
      // After this answer has gone: the hub stops cleanly and the launcher imports.
      setImmediate(() => requestLauncherExit(IMPORT_EXIT));
      return status(202, { state: 'restarting' });
    },
    // Streamed to disk by receive(), never parsed.
    { parse: 'none' },
  );
}

function hubHasContent(ctx: AuthContext): boolean {
  const row = ctx.db.query('SELECT COUNT(*) AS n FROM users').get() as { n: number };
  return row.n > 0;
}

function tooLarge(status: (code: 413, body: unknown) => unknown) {
  return status(
    413,
    errorBody('payload_too_large', `An import may be at most ${IMPORT_LIMIT / 1024 ** 3} GB.`),
  );
}

/** Streams the body to `file` (owner-only), up to IMPORT_LIMIT; 'ok', 'too_large' or what went wrong. */
async function receive(request: Request, file: string): Promise<'ok' | 'too_large' | string> {
  if (!request.body) return 'The request has no body: send the export .tar.gz as it.';
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true });
  const fd = openSync(file, 'wx', 0o600);
  let size = 0;
  try {
    // Leaving the loop cancels the rest of the body; the 413 then reaches the sender.
    for await (const chunk of request.body as ReadableStream<Uint8Array>) {
      size += chunk.byteLength;
      if (size > IMPORT_LIMIT) {
        rmSync(file, { force: true });
        return 'too_large';
      }
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset);
    }
  } catch {
    rmSync(file, { force: true });
    return 'The upload was cut off.';
  } finally {
    closeSync(fd);
  }
  return 'ok';
}
