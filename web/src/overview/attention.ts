import type { BackupStatus } from '../backup/backup-types.ts';
import type { LiveModule, ModuleProblem } from '../modules/live-modules.ts';
import { appName, type OAuthClient } from '../oauth-types.ts';

/** Where an item is fixed: a page of the admin UI. */
export interface FixLink {
  href: string;
  label: string;
}

/**
 * One thing on the Overview that needs the admin. A closed union: a new kind
 * adds a member here, its source to
 * `AttentionSources` and a case in attention-list.tsx; the compiler points
 * at every place that must say something about it.
 */
export type AttentionItem =
  | {
      kind: 'module';
      key: string;
      title: string;
      state: string;
      problem: ModuleProblem | null;
      fix: FixLink;
      logs: FixLink;
    }
  | {
      kind: 'backup';
      key: string;
      title: string;
      /** The hub's sentence: what went wrong and what to do. */
      message: string;
      lastGoodAt: number | null;
      fix: FixLink;
    }
  | { kind: 'app'; key: string; title: string; registeredAt: number; fix: FixLink }
  | { kind: 'more-apps'; key: string; title: string; fix: FixLink }
  | { kind: 'upgrade'; key: string; title: string; current: string; latest: string; fix: FixLink };

/** What the list is computed from; null while a source is still loading. */
export interface AttentionSources {
  modules: LiveModule[] | null;
  apps: OAuthClient[] | null;
  /** GET /api/hub's `upgrade`: the release channel's answer, cached by the hub. */
  upgrade?: { current: string; latest: string | null; available: boolean } | null;
  /** GET /api/hub/backups's `status`. */
  backup?: BackupStatus | null;
}

/** States in which a module is not doing its job and will not recover without the admin. */
const TROUBLED = new Set(['crashed', 'backoff', 'unbound']);

/**
 * Pending apps shown one by one; the rest are one line. Registration is open
 * to anyone, so a flood of apps must not push everything else off the page.
 */
export const APPS_SHOWN = 3;

/** Modules first (something is down), then backups (data at risk), then apps waiting for approval. */
export function attentionItems(sources: AttentionSources): AttentionItem[] {
  const items: AttentionItem[] = [];
  for (const m of sources.modules ?? []) {
    if (!TROUBLED.has(m.state)) continue;
    items.push({
      kind: 'module',
      key: `module ${m.name}`,
      title: m.displayName ?? m.module ?? m.name,
      state: m.state,
      problem: m.lastError,
      // Straight to its card (the Modules page outlines and scrolls to it).
      fix: {
        href: `/admin/modules#module-${encodeURIComponent(m.name)}`,
        label: 'Open in Modules',
      },
      logs: { href: `/admin/logs/${encodeURIComponent(m.name)}`, label: 'Logs' },
    });
  }
  const backup = sources.backup;
  if (backup && (backup.state === 'failing' || backup.state === 'missing')) {
    items.push({
      kind: 'backup',
      key: 'backup',
      title: backup.state === 'failing' ? 'The last backup failed' : 'No recent good backup',
      message: backup.message,
      lastGoodAt: backup.last_good_at,
      fix: { href: '/admin/backup', label: 'Open Backup' },
    });
  }
  const pending = (sources.apps ?? []).filter((a) => a.status === 'pending');
  const review = { href: '/admin/apps', label: 'Review in Connected apps' };
  for (const app of pending.slice(0, APPS_SHOWN)) {
    items.push({
      kind: 'app',
      key: `app ${app.client_id}`,
      title: appName(app.client_name),
      registeredAt: app.created_at,
      fix: review,
    });
  }
  const rest = pending.length - APPS_SHOWN;
  if (rest > 0) {
    items.push({
      kind: 'more-apps',
      key: 'more apps',
      title: `${rest} more ${rest === 1 ? 'app waits' : 'apps wait'} for approval`,
      fix: review,
    });
  }
  const upgrade = sources.upgrade;
  if (upgrade?.available && upgrade.latest) {
    items.push({
      kind: 'upgrade',
      key: 'upgrade',
      title: `Parachute ${upgrade.latest} is available`,
      current: upgrade.current,
      latest: upgrade.latest,
      fix: { href: '/admin/upgrade', label: 'Open Upgrade' },
    });
  }
  return items;
}
