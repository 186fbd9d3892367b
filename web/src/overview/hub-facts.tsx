import { formatDuration, useTick } from '../modules/live-modules.ts';
import { formatTime } from '../time.ts';

/** GET /api/hub (admin), the fields shown here; the answer may carry more. */
export interface HubInfo {
  version: string;
  commit: string | null;
  image: string | null;
  origin: string;
  platform: 'fly' | 'render' | 'systemd' | 'launchd' | 'container' | 'process';
  region: string | null;
  runtime: string;
  started_at: string;
  uptime_s: number;
  upgrade?: { current: string; latest: string | null; available: boolean } | null;
}

const PLATFORMS: Record<HubInfo['platform'], string> = {
  fly: 'Fly.io',
  render: 'Render',
  systemd: 'systemd service',
  launchd: 'launchd agent',
  container: 'Container',
  process: 'Plain process (no service manager)',
};

/**
 * Rows of the Overview's facts about the hub itself (GET /api/hub): where
 * it answers, where it runs and for how long. Status and
 * database come from /health, which everyone sees.
 */
export function HubRows({ hub, receivedAt }: { hub: HubInfo; receivedAt: number }) {
  return (
    <>
      <dt>Origin</dt>
      <dd>
        <code>{hub.origin}</code>
      </dd>
      <dt>Platform</dt>
      <dd data-testid="hub-platform">
        {PLATFORMS[hub.platform] ?? hub.platform}
        {hub.region && `, region ${hub.region}`}
      </dd>
      {hub.image && (
        <>
          <dt>Image</dt>
          <dd>
            <code>{hub.image}</code>
          </dd>
        </>
      )}
      <dt>Up for</dt>
      <dd>
        <Uptime seconds={hub.uptime_s} receivedAt={receivedAt} />{' '}
        <span class="muted">(since {formatTime(Date.parse(hub.started_at))})</span>
      </dd>
      <dt>Runtime</dt>
      <dd>{hub.runtime}</dd>
    </>
  );
}

/** Counts on from the answer, once a second, re-rendering only itself. */
function Uptime({ seconds, receivedAt }: { seconds: number; receivedAt: number }) {
  const now = useTick(true);
  return (
    <span data-testid="hub-uptime">
      {formatDuration(seconds * 1000 + Math.max(0, now - receivedAt))}
    </span>
  );
}
