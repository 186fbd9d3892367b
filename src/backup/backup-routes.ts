import { rmSync } from 'node:fs';
import { Elysia } from 'elysia';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { errorBody } from '../hub/error-body.ts';
import { operatorMessage } from '../platform/operator-error.ts';
import { newDrillIdentity, recipientProblem } from './age-file.ts';
import {
  configPath,
  mergeConfigInput,
  publicConfig,
  type StoredBackupConfig,
  targetOf,
  writeBackupConfig,
} from './backup-config.ts';
import { backupRuns } from './backup-runs.ts';
import type { BackupScheduler } from './backup-scheduler.ts';

/**
 * Scheduled backups (admins; deploy.md, "Scheduled backups"):
 * GET /api/hub/backups (settings without secrets, health, recent runs),
 * PUT|DELETE /api/hub/backups/config, POST /api/hub/backups/run.
 */
export function backupRoutes(ctx: AuthContext, scheduler: BackupScheduler) {
  const view = () => {
    let config: StoredBackupConfig | null = null;
    try {
      config = scheduler.config();
    } catch {
      // status() says the file is damaged.
    }
    return {
      // The hub's zone, for a form that has no settings yet ("daily at 03:00 UTC").
      time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      config: config ? publicConfig(config) : null,
      status: scheduler.status(),
      runs: backupRuns.recent(ctx.db).map(publicRun),
    };
  };
  let saving = false;
  return new Elysia({ name: 'hub.backups' })
    .use(requireAuth(ctx))
    .get('/api/hub/backups', () => view())
    .put('/api/hub/backups/config', async ({ request, principal, body, status }) => {
      if (saving) {
        return status(409, errorBody('busy', 'Settings are being saved; try again in a moment.'));
      }
      let stored: StoredBackupConfig | null = null;
      try {
        stored = scheduler.config();
      } catch {
        // A damaged file is replaced by a complete new setting (secrets must then be given).
      }
      let merged = mergeConfigInput(body, stored, {
        home: ctx.home,
        drillIdentity: stored?.drill_identity ?? (await newDrillIdentity()),
        now: Date.now(),
      });
      // The shape is checked by the schema; whether age can encrypt to it, by age itself.
      const { encryption } = 'config' in merged ? merged.config : { encryption: null };
      const recipient =
        encryption?.kind === 'recipient' ? recipientProblem(encryption.recipient) : null;
      if (recipient) {
        merged = {
          problems: {
            description: `encryption.recipient: ${recipient}`,
            fields: { 'encryption.recipient': recipient },
          },
        };
      }
      if ('problems' in merged) {
        return status(400, {
          ...errorBody(
            'invalid_backup_config',
            `The backup settings are invalid: ${merged.problems.description}`,
          ),
          fields: merged.problems.fields,
        });
      }
      const { config } = merged;
      const target = targetOf(config);
      saving = true;
      try {
        // Nothing is saved unless the target takes a write, gives it back and deletes it.
        await target.probe();
      } catch (error) {
        audit(ctx, request, principal, {
          action: 'backup.configure',
          target: target.describe(),
          outcome: 'failure',
          detail: { error: operatorMessage(error) },
        });
        return status(400, errorBody('backup_target_unreachable', operatorMessage(error)));
      } finally {
        saving = false;
      }
      writeBackupConfig(ctx.home, config);
      audit(ctx, request, principal, {
        action: 'backup.configure',
        target: target.describe(),
        outcome: 'success',
        // Never a secret: which kinds, not the keys.
        detail: {
          enabled: config.enabled,
          every: config.schedule.every,
          at: config.schedule.at,
          keep: config.retention.keep,
          max_age_days: config.retention.max_age_days,
          target: config.target.kind,
          encryption: config.encryption.kind,
          webhook: config.webhook_url !== null,
        },
      });
      // A first schedule runs at once (there is no run yet), so the operator learns now.
      scheduler.wake();
      return view();
    })
    .delete('/api/hub/backups/config', ({ request, principal }) => {
      rmSync(configPath(ctx.home), { force: true });
      audit(ctx, request, principal, {
        action: 'backup.configure',
        target: 'hub',
        outcome: 'success',
        detail: { removed: true },
      });
      scheduler.wake();
      return view();
    })
    .post('/api/hub/backups/run', ({ request, principal, status }) => {
      if (scheduler.running) {
        return status(409, errorBody('backup_running', 'A backup is already running.'));
      }
      const started = scheduler.runNow('manual');
      if (!started) {
        return status(
          409,
          errorBody(
            'backups_not_configured',
            'Backups are not set up: choose a target and encryption on the Backup page first.',
          ),
        );
      }
      audit(ctx, request, principal, {
        action: 'backup.run',
        target: started.run.target,
        outcome: 'started',
        detail: { run: started.run.id },
      });
      return status(202, { run: publicRun(started.run) });
    });
}

/** A run as the API shows it (pruned_at is the runs table's own bookkeeping). */
function publicRun(run: ReturnType<typeof backupRuns.recent>[number]) {
  const { pruned_at, ...rest } = run;
  return { ...rest, pruned: pruned_at !== null };
}
