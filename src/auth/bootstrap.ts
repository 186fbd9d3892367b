import { constantTimeEqual } from './hash.ts';

/**
 * The one-time token that proves the person at /admin/setup can read the
 * hub's log (auth.md section 6). A new one each boot while no admin exists;
 * held only in memory; gone once used.
 */
export class BootstrapToken {
  private token: string | null = null;
  private reader: string | null = null;

  /** Mints this boot's token and returns it for the banner. */
  issue(): string {
    this.token = `parachute-bootstrap-${random()}`;
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

/** The log banner: the only secret the hub ever prints. */
export function bootstrapBanner(token: string, setupUrl: string): string {
  const rule = '='.repeat(72);
  return [
    rule,
    'No admin account exists yet. To claim this hub, open',
    `  ${setupUrl}`,
    'and enter this one-time setup token (valid until it is used or the hub restarts):',
    `  ${token}`,
    rule,
  ].join('\n');
}
