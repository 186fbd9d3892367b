import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { bearerIs } from '../auth/guard.ts';
import { errorBody } from '../hub/error-body.ts';
import { log } from '../platform/log.ts';
import { writeExport } from './export.ts';
import { streamThenDelete } from './export-routes.ts';

export const PROVIDER_EXPORT_PATH = '/api/hub/provider-export';

/** Who the audit log names for these exports. */
const PROVIDER = { id: null, name: 'hosting provider' };

/**
 * GET /api/hub/provider-export: the same archive as GET /api/hub/export, for
 * a hub hosted by the provisioner (README, "Hosting many hubs"), which sets
 * PARACHUTE_EXPORT_TOKEN as a Fly secret so it can export the hub before a
 * teardown and mail the operator their data. The provider runs the machine
 * and its volume, so the token gives it nothing it could not already read;
 * it is withheld from modules, compared in constant time, and every use is
 * in the audit log. Without the variable the route answers 401 to everyone.
 */
export function providerExportRoutes(ctx: AuthContext) {
  return new Elysia({ name: 'hub.provider-export' }).get(
    PROVIDER_EXPORT_PATH,
    async ({ request, status }) => {
      if (!bearerIs(request, ctx.env.PARACHUTE_EXPORT_TOKEN)) {
        return status(
          401,
          errorBody(
            'unauthenticated',
            "This export needs the hosting provider's token (PARACHUTE_EXPORT_TOKEN); admins use GET /api/hub/export.",
          ),
        );
      }
      const path = join(ctx.home, 'tmp', `export-${randomUUID()}.tar.gz`);
      audit(ctx, request, PROVIDER, { action: 'hub.export', target: 'hub', outcome: 'started' });
      try {
        const result = await writeExport(ctx.home, path);
        log.info(`provider export of ${result.files} files (${result.bytes} bytes) made`);
        audit(ctx, request, PROVIDER, {
          action: 'hub.export',
          target: 'hub',
          outcome: 'success',
          detail: { files: result.files, bytes: result.bytes },
        });
        return new Response(
          streamThenDelete(path, () => {}),
          {
            headers: {
              'content-type': 'application/gzip',
              'content-disposition': 'attachment; filename="parachute-export.tar.gz"',
              'cache-control': 'no-store',
            },
          },
        );
      } catch (error) {
        rmSync(path, { force: true });
        audit(ctx, request, PROVIDER, {
          action: 'hub.export',
          target: 'hub',
          outcome: 'failure',
          detail: { error: (error as Error).message },
        });
        throw error;
      }
    },
  );
}
