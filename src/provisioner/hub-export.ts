// The export a teardown makes first: GET /api/hub/provider-export on the
// hub (https://<app>.fly.dev) with its PARACHUTE_EXPORT_TOKEN, streamed to a
// file and verified whole (the same check `parachute import` runs) before a
// teardown may go on to destroy anything.
import { chmodSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { checkExport } from '../backup/import.ts';
import { flyAppFetch } from '../fly/app-url.ts';

export type ExportOutcome = { kind: 'exported'; bytes: number } | { kind: 'unclaimed' };

const ErrorBody = z.looseObject({ error: z.string().optional() });

export async function downloadHubExport(
  app: string,
  token: string,
  dest: string,
  edge: string | undefined,
): Promise<ExportOutcome> {
  const res = await flyAppFetch(
    app,
    '/api/hub/provider-export',
    { headers: { authorization: `Bearer ${token}` }, redirect: 'error' },
    { PARACHUTE_FLY_EDGE: edge },
  );
  if (res.status === 503) {
    // A hub nobody claimed holds no operator data: nothing to export.
    const body = ErrorBody.safeParse(await res.json().catch(() => null));
    if (body.success && body.data.error === 'setup_required') return { kind: 'unclaimed' };
  }
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    throw new Error(`the hub answered ${res.status} to its export`);
  }
  mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
  const partial = `${dest}.partial`;
  try {
    // Streamed to disk (the folder is owner-only; the file is made so too).
    await Bun.write(partial, res);
    chmodSync(partial, 0o600);
    // Every file against the export's manifest: a cut or damaged download fails here.
    await checkExport(partial);
    renameSync(partial, dest);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new Error(`the export did not arrive whole: ${(error as Error).message}`);
  }
  return { kind: 'exported', bytes: statSync(dest).size };
}
