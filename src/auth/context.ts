import type { Database } from 'bun:sqlite';
import {
  moduleOfHost,
  type ResolvedAppsDomain,
  resolveAppsDomain,
} from '../platform/apps-domain.ts';
import { log } from '../platform/log.ts';
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
  /**
   * Called after the origin or the apps domain in force changed: modules
   * restart to pick up PARACHUTE_HUB_ORIGIN and PARACHUTE_HUB_ORIGINS.
   */
  readonly originListeners = new Set<(origin: string) => Promise<void>>();
  private resolved: ResolvedOrigin;
  private apps: ResolvedAppsDomain;
  private effectiveAppsDomain: string | null;
  private adminExists: boolean;

  constructor(
    readonly db: Database,
    readonly keys: SigningKeys,
    readonly home: string,
    readonly port: number,
    readonly env: Env,
  ) {
    this.resolved = resolveOrigin(getSetting(db, 'origin'), env, port);
    this.apps = resolveAppsDomain(getSetting(db, 'apps_domain'), env);
    this.effectiveAppsDomain = effectiveAppsDomain(this.apps.domain, this.resolved.origin);
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
    this.effectiveAppsDomain = effectiveAppsDomain(this.apps.domain, this.resolved.origin);
    return before !== this.resolved.origin;
  }

  /**
   * The apps domain modules get their own origins under, or null when they
   * share the hub's (platform/apps-domain.ts). Read on every request, so
   * worked out when the settings change, not here.
   */
  get appsDomain(): string | null {
    return this.effectiveAppsDomain;
  }

  /** The apps domain as configured (settings or env), in force or not. */
  get configuredAppsDomain(): ResolvedAppsDomain {
    return this.apps;
  }

  /** Re-reads the apps domain after the setting changed; returns true if the one in force moved. */
  refreshAppsDomain(): boolean {
    const before = this.effectiveAppsDomain;
    this.apps = resolveAppsDomain(getSetting(this.db, 'apps_domain'), this.env);
    this.effectiveAppsDomain = effectiveAppsDomain(this.apps.domain, this.resolved.origin);
    return before !== this.effectiveAppsDomain;
  }

  get hasAdmin(): boolean {
    return this.adminExists;
  }

  /** Call after creating or deleting users: the setup gate depends on it. */
  refreshAdminExists(): void {
    this.adminExists = users.count(this.db, 'admin') > 0;
  }
}

/**
 * The apps domain in force: none while the issuer's own host is under it,
 * or the hub would take itself for a module (and say so in the log).
 */
function effectiveAppsDomain(domain: string | null, issuer: string): string | null {
  if (domain === null || moduleOfHost(new URL(issuer).host, domain) === null) return domain;
  log.warn(
    `the hub's origin ${issuer} is under the apps domain ${domain}; modules share the hub's origin until one of them changes`,
  );
  return null;
}
