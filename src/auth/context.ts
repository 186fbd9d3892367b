import type { Database } from 'bun:sqlite';
import { hubOrigins, type ResolvedOrigin, resolveOrigin } from '../platform/origin.ts';
import { getSetting } from '../store/settings.ts';
import { BootstrapToken } from './bootstrap.ts';
import { LoginChallenges } from './login-challenges.ts';
import { LoginRateLimiter } from './rate-limit.ts';
import type { SigningKeys } from './signing-keys.ts';
import { users } from './users.ts';

type Env = Record<string, string | undefined>;

/** Everything the auth routes and guards share, created once per hub. */
export class AuthContext {
  readonly bootstrap = new BootstrapToken();
  readonly limiter = new LoginRateLimiter();
  readonly challenges = new LoginChallenges();
  /** Called after the origin changed (modules restart to pick up PARACHUTE_HUB_ORIGIN). */
  readonly originListeners = new Set<(origin: string) => Promise<void>>();
  private resolved: ResolvedOrigin;
  private adminExists: boolean;

  constructor(
    readonly db: Database,
    readonly keys: SigningKeys,
    readonly home: string,
    readonly port: number,
    readonly env: Env,
  ) {
    this.resolved = resolveOrigin(getSetting(db, 'origin'), env, port);
    this.adminExists = users.count(db, 'admin') > 0;
  }

  /** The issuer: `iss` of every token, `issuer` in metadata. */
  get origin(): string {
    return this.resolved.origin;
  }

  get originSource(): ResolvedOrigin['source'] {
    return this.resolved.source;
  }

  /** Every origin the hub answers as; tokens with any of these as `iss` are accepted. */
  get origins(): string[] {
    return hubOrigins(this.resolved.origin, this.port, this.env);
  }

  /** Cookies get Secure when people reach the hub over https. */
  get secureCookies(): boolean {
    return this.resolved.origin.startsWith('https:');
  }

  /** Re-reads the origin after the setting changed; returns true if it moved. */
  refreshOrigin(): boolean {
    const before = this.resolved.origin;
    this.resolved = resolveOrigin(getSetting(this.db, 'origin'), this.env, this.port);
    return before !== this.resolved.origin;
  }

  get hasAdmin(): boolean {
    return this.adminExists;
  }

  /** Call after creating or deleting users: the setup gate depends on it. */
  refreshAdminExists(): void {
    this.adminExists = users.count(this.db, 'admin') > 0;
  }
}
