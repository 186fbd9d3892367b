import { constantTimeEqual } from './hash.ts';

/**
 * The one-time token that proves the person at /admin/setup can read the
 * hub's log (auth.md section 6). A new one each boot while no admin exists;
 * held only in memory; gone once used.
 */
export class BootstrapToken {
  private token: string | null = null;
  private reader: string | null = null;

  /**
   * Mints this boot's token and returns it for the banner; `preset` (from
   * PARACHUTE_SETUP_TOKEN, already checked by presetSetupToken) is used
   * instead when given: the deployer set it and already knows it.
   */
  issue(preset: string | null = null): string {
    this.token = preset ?? `parachute-bootstrap-${random()}`;
    this.reader = `parachute-setup-reader-${random()}`;
    return this.token;
  }

  /**
   * The secret that reads the token over GET /api/setup/token, written to
   * operator.token (0600, only the hub's OS user and root read it) until
   * setup replaces that file with the real operator token.
   */
  get readerSecret(): string | null {
    return this.reader;
  }

  /** True if `candidate` is this boot's reader secret and the token is unused. */
  readerMatches(candidate: string): boolean {
    return this.token !== null && this.reader !== null && constantTimeEqual(candidate, this.reader);
  }

  /** True if `candidate` is this boot's unused token. */
  matches(candidate: string): boolean {
    return this.token !== null && constantTimeEqual(candidate.trim(), this.token);
  }

  /** Used up: no second admin can be created with it. */
  consume(): void {
    this.token = null;
    this.reader = null;
  }

  /** This boot's unused token, for GET /api/setup/token (operator only); null once used. */
  get current(): string | null {
    return this.token;
  }

  get pending(): boolean {
    return this.token !== null;
  }
}

function random(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
}

/** What a preset setup token must look like: the shape of the hub's own, 32 random bytes. */
const PRESET_SHAPE = /^parachute-bootstrap-[A-Za-z0-9_-]{43}$/;

/**
 * PARACHUTE_SETUP_TOKEN when it is well formed (a Fly secret set by
 * `parachute deploy fly`), else null; `warn` says why one was ignored.
 */
export function presetSetupToken(
  env: Record<string, string | undefined>,
  warn: (message: string) => void,
): string | null {
  const value = env.PARACHUTE_SETUP_TOKEN?.trim();
  if (!value) return null;
  if (PRESET_SHAPE.test(value)) return value;
  warn(
    'PARACHUTE_SETUP_TOKEN is not `parachute-bootstrap-` followed by 43 base64url characters: ignored, a random setup token is printed below instead',
  );
  return null;
}

/** The log banner: the only secret the hub ever prints (never a preset token: its owner has it). */
export function bootstrapBanner(token: string, setupUrl: string, preset = false): string {
  const rule = '='.repeat(72);
  if (preset) {
    return [
      rule,
      'No admin account exists yet. To claim this hub, open',
      `  ${setupUrl}`,
      'and enter the one-time setup token given to it in PARACHUTE_SETUP_TOKEN.',
      rule,
    ].join('\n');
  }
  return [
    rule,
    'No admin account exists yet. To claim this hub, open',
    `  ${setupUrl}`,
    'and enter this one-time setup token (valid until it is used or the hub restarts):',
    `  ${token}`,
    rule,
  ].join('\n');
}
