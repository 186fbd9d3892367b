import { randomUUID } from 'node:crypto';
import { Elysia } from 'elysia';
import * as z from 'zod/mini';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import type { BackupScheduler } from '../backup/backup-scheduler.ts';
import { OperatorError, operatorMessage } from '../platform/operator-error.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { record } from '../store/audit.ts';
import { backupBeforeUpgrade } from '../upgrade/backup-before-upgrade.ts';
import type { LatestRelease } from '../upgrade/latest-release.ts';
import { startWatcher } from '../upgrade/start-watcher.ts';
import { upgradeRefusal } from '../upgrade/upgrade-refusal.ts';
import {
  FINAL_STATES,
  readStatus,
  type UpgradeStatus,
  upgradeRunning,
  writeStatus,
} from '../upgrade/upgrade-status.ts';
import { errorBody } from './error-body.ts';

const UpgradeBody = z.object({
  to: z.optional(z.string().check(z.regex(/^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/))),
});

/**
 * The hub upgrading itself (deploy.md, "Upgrade"): POST starts the watcher,
 * GET reads its progress from <home>/upgrade.json, which outlives the
 * restart, so the Upgrade page keeps polling across it.
 */
export function hubUpgradeRoutes(
  ctx: AuthContext,
  latest: LatestRelease,
  backups: BackupScheduler,
) {
  // The port the hub actually listens on (run/hub.json), for the watcher's /health checks.
  const port = () => readRuntime(ctx.home)?.port ?? ctx.port;
  /** The outcome lands in the audit log once, whichever hub (new or rolled back) reads it first. */
  const current = (): UpgradeStatus | null => {
    const status = readStatus(ctx.home);
    if (status && FINAL_STATES.includes(status.state) && !status.audited) {
      record(ctx.db, {
        actor: { id: null, name: 'hub' },
        ip: '127.0.0.1',
        action: 'hub.upgrade',
        target: status.to,
        outcome:
          status.state === 'succeeded' || status.state === 'restart_needed' ? 'success' : 'failure',
        detail: {
          id: status.id,
          from: status.from,
          to: status.to,
          state: status.state,
          ...(status.error ? { error: status.error } : {}),
        },
      });
      status.audited = true;
      try {
        writeStatus(ctx.home, status);
      } catch {
        // Written by root (a sudo CLI upgrade) in a folder we cannot write: audited again next read.
      }
    }
    return status;
  };
  return new Elysia({ name: 'hub.upgrade' })
    .use(requireAuth(ctx))
    .get('/api/hub/upgrade', () => {
      const refusal = upgradeRefusal(ctx.env);
      return {
        ...latest.peek(),
        can_upgrade: refusal === null,
        refusal: refusal ? { message: refusal.message, hint: refusal.hint } : null,
        status: current(),
      };
    })
    .post('/api/hub/upgrade/check', async () => {
      await latest.check();
      return latest.peek();
    })
    .post('/api/hub/upgrade', async ({ request, principal, body, status }) => {
      const parsed = UpgradeBody.safeParse(body ?? {});
      if (!parsed.success)
        return status(400, errorBody('invalid_request', 'to: expected a version such as 0.2.0'));
      const refusal = upgradeRefusal(ctx.env);
      if (refusal)
        return status(409, { ...errorBody('cannot_upgrade', refusal.message), hint: refusal.hint });
      if (upgradeRunning(current()))
        return status(
          409,
          errorBody('upgrade_in_progress', 'An upgrade of this hub is already running.'),
        );
      const id = randomUUID();
      const to = parsed.data.to;
      const watcher = () =>
        startWatcher({ id, home: ctx.home, port: port(), env: ctx.env, ...(to ? { to } : {}) });
      if (backupsSetUp(backups)) {
        // The full backup first (its steps land in upgrade.json), then the watcher; answered now.
        void backupBeforeUpgrade({ backups, db: ctx.db, home: ctx.home, id, to: to ?? null })
          .then((ok) => (ok ? watcher() : undefined))
          .catch((error) => failLate(ctx.home, id, error));
      } else {
        try {
          await watcher();
        } catch (error) {
          if (!(error instanceof OperatorError)) throw error;
          audit(ctx, request, principal, {
            action: 'hub.upgrade',
            target: to ?? null,
            outcome: 'failure',
            detail: { id, error: error.message },
          });
          return status(409, { ...errorBody('cannot_upgrade', error.message), hint: error.hint });
        }
      }
      audit(ctx, request, principal, {
        action: 'hub.upgrade',
        target: to ?? null,
        outcome: 'started',
        detail: { id },
      });
      return status(202, { id });
    });
}

/**
 * Backups have a target (paused or not: an upgrade is when one matters most).
 * A damaged settings file counts as none here; the Backup page says it is damaged.
 */
function backupsSetUp(backups: BackupScheduler): boolean {
  try {
    return backups.config() !== null;
  } catch {
    return false;
  }
}

/** The watcher could not start after the backup: the upgrade ends failed, saying why. */
function failLate(home: string, id: string, error: unknown): void {
  const status = readStatus(home);
  if (!status || status.id !== id) return;
  status.state = 'failed';
  status.error = `${operatorMessage(error)} Nothing was upgraded.`;
  status.finished_at = new Date().toISOString();
  writeStatus(home, status);
}
