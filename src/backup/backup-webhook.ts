import { log } from '../platform/log.ts';
import type { BackupStatus } from './backup-schedule.ts';

export type BackupEvent = 'backup.failed' | 'backup.missing' | 'backup.recovered';

/**
 * Tells the operator's webhook (a chat channel, a monitoring service) that
 * backups need them, or are fine again. A small JSON body, no secret and no
 * archive name beyond what the Backup page shows; sent once per change of
 * state, never retried into a storm. A webhook that fails is logged, and
 * the Overview and `parachute status` still say it.
 */
export async function sendBackupWebhook(
  url: string,
  event: BackupEvent,
  status: BackupStatus,
  origin: string,
): Promise<boolean> {
  const body = {
    event,
    hub: origin,
    state: status.state,
    message: status.message,
    last_good_at: status.last_good_at ? new Date(status.last_good_at).toISOString() : null,
    // Chat services (Slack, Mattermost, Discord via /slack) show `text`.
    text: `Parachute hub ${origin}: ${status.message}`,
  };
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'parachute-hub' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      log.warn(`backup webhook answered ${response.status} for ${event}`);
      return false;
    }
    return true;
  } catch (error) {
    log.warn(`backup webhook could not be sent (${event}): ${(error as Error).message}`);
    return false;
  }
}
