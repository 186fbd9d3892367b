import { OperatorError } from '../platform/operator-error.ts';
import { releaseFolder } from '../platform/release-asset.ts';
import { VERSION } from '../version.ts';
import { announcedVersion } from './release-download.ts';

export interface UpgradeAvailability {
  current: string;
  /** The release channel's version, null when unknown (see reason). */
  latest: string | null;
  available: boolean;
  /** Why latest is null: no channel configured, still checking, or the check failed. */
  reason: string | null;
  checked_at: string | null;
  /** A look at the channel is under way: asking again in a moment gets its answer. */
  checking: boolean;
}

/** How long a channel answer is reused; a failed check is retried sooner. */
const FRESH_MS = 60 * 60_000;
const RETRY_MS = 5 * 60_000;

/**
 * The release channel's latest version, cached: `peek` answers at once with
 * what is known and starts a check in the background when the answer is
 * old, so no page ever waits on the channel.
 */
export class LatestRelease {
  private known: Omit<UpgradeAvailability, 'checking'>;
  private checkedAt = 0;
  private checking: Promise<void> | null = null;

  constructor(private readonly env: Record<string, string | undefined>) {
    this.known = {
      current: VERSION,
      latest: null,
      available: false,
      reason: env.PARACHUTE_RELEASE_URL?.trim()
        ? 'checking the release channel'
        : 'PARACHUTE_RELEASE_URL is not set: this hub does not check for new releases',
      checked_at: null,
    };
  }

  peek(): UpgradeAvailability {
    if (!this.env.PARACHUTE_RELEASE_URL?.trim()) return { ...this.known, checking: false };
    const age = Date.now() - this.checkedAt;
    if (!this.checking && age > (this.known.latest ? FRESH_MS : RETRY_MS)) void this.check();
    return { ...this.known, checking: this.checking !== null };
  }

  /** Checks the channel now (the Upgrade page's "check again"). */
  check(): Promise<void> {
    this.checking ??= this.fetch().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async fetch(): Promise<void> {
    const checkedAt = new Date().toISOString();
    try {
      const latest = await announcedVersion(releaseFolder(this.env));
      this.known = {
        current: VERSION,
        latest,
        available: newer(latest, VERSION),
        reason: null,
        checked_at: checkedAt,
      };
    } catch (error) {
      const message = error instanceof OperatorError ? error.message : (error as Error).message;
      this.known = {
        ...this.known,
        reason: `the release channel did not answer: ${message}`,
        checked_at: checkedAt,
      };
    }
    this.checkedAt = Date.now();
  }
}

/** True when version a is newer than b (numeric major.minor.patch; a pre-release sorts before its release). */
export function newer(a: string, b: string): boolean {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { nums: core.split('.').map((n) => Number.parseInt(n, 10) || 0), pre: pre ?? null };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  if (x.pre === y.pre) return false;
  if (x.pre === null) return true;
  if (y.pre === null) return false;
  return x.pre > y.pre;
}
