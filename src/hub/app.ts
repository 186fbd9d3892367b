import { Elysia } from 'elysia';
import { accountRoutes } from '../auth/account-routes.ts';
import { AgentGrants } from '../auth/agent-grants.ts';
import { agentGrantsRoutes } from '../auth/agent-grants-routes.ts';
import { appsDomainRoutes } from '../auth/apps-domain-routes.ts';
import { auditRoutes } from '../auth/audit-routes.ts';
import { CredentialConnections } from '../auth/connection-credentials.ts';
import { connectionsRoutes } from '../auth/connections-routes.ts';
import type { AuthContext } from '../auth/context.ts';
import { hubSettingsRoutes } from '../auth/hub-settings-routes.ts';
import { keysRoutes } from '../auth/keys-routes.ts';
import { loginRoutes } from '../auth/login-routes.ts';
import { mintTokenRoutes } from '../auth/mint-token-routes.ts';
import { moduleSessionRoutes } from '../auth/module-session-routes.ts';
import { OAuthIssuer } from '../auth/oauth/issuer.ts';
import { oauthRoutes } from '../auth/oauth/routes.ts';
import { originRoutes } from '../auth/origin-routes.ts';
import { pageMintRoutes } from '../auth/page-mint-routes.ts';
import { rotationRoutes } from '../auth/rotation-routes.ts';
import { setupGate } from '../auth/setup-gate.ts';
import { setupRoutes } from '../auth/setup-routes.ts';
import { usersRoutes } from '../auth/users-routes.ts';
import { backupRoutes } from '../backup/backup-routes.ts';
import type { BackupScheduler } from '../backup/backup-scheduler.ts';
import { exportRoutes } from '../backup/export-routes.ts';
import { importRoutes } from '../backup/import-routes.ts';
import { providerExportRoutes } from '../backup/provider-export-routes.ts';
import type { ModuleIsolation } from '../modules/isolation.ts';
import { isolationRoutes } from '../modules/isolation-routes.ts';
import type { ModuleManager } from '../modules/manager.ts';
import { modulesRoutes } from '../modules/modules-routes.ts';
import { vaultsRoutes } from '../modules/vaults-routes.ts';
import { LatestRelease } from '../upgrade/latest-release.ts';
import type { BootState } from './boot-state.ts';
import { discoveryRoutes } from './discovery.ts';
import { errorMapping } from './errors.ts';
import { hubInfoRoutes } from './hub-info-routes.ts';
import { hubLogsRoutes } from './hub-logs-routes.ts';
import { hubUpgradeRoutes } from './hub-upgrade-routes.ts';
import { securityHeaders } from './security-headers.ts';
import { spaRoutes } from './spa.ts';
import type { SpaFiles } from './spa-files.ts';

/** What the routes need from the running hub. */
export interface AppDeps {
  state: BootState;
  auth: AuthContext;
  modules: ModuleManager;
  /** Modules whose documents are sandboxed (modules.md section 7). */
  isolation: ModuleIsolation;
  spaFiles: SpaFiles;
  /** Scheduled backups: their clock runs from boot, their routes are here. */
  backups: BackupScheduler;
}

/**
 * Every URL of the hub's own, top to bottom: cross-cutting plugins, then one
 * line per route group. Probes (/health, /api/ready) and module mounts are
 * answered before this app (hub/hub.ts); it is built on first use (hub/lazy-app.ts).
 */
export function createApp(deps: AppDeps) {
  const oauth = new OAuthIssuer(deps.auth, () => deps.modules.scopeSources());
  const catalog = () => oauth.catalog();
  // The release channel's latest version, shared by GET /api/hub and the Upgrade page.
  const latest = new LatestRelease(deps.auth.env);
  const moduleNames = () => deps.modules.list().map((m) => ({ short: m.module, row: m.name }));
  const credentials = new CredentialConnections(deps.auth, {
    find: (short) => {
      const view = deps.modules.list().find((m) => m.module === short);
      if (!view) return null;
      const declared = deps.modules.manifestOf(view.name)?.credentials ?? [];
      return { port: view.row.port, credentials: declared };
    },
    vaults: () => catalog().vaults,
  });
  // An uninstalled module keeps no credential (upstream: every provision has its deprovision).
  deps.modules.uninstallListeners.add((module) => void credentials.forgetModule(module));
  return (
    new Elysia({ name: 'hub', strictPath: true })
      .use(securityHeaders())
      .use(errorMapping())
      // 503 setup_required on /api/* until the first admin exists
      .use(setupGate(deps.auth))
      // GET /.well-known/jwks.json
      .use(keysRoutes(deps.auth))
      // GET /.well-known/parachute.json, GET /
      .use(discoveryRoutes(deps.auth, deps.modules))
      // OAuth 2.1 issuer: metadata, register, authorize, token, revoke, consent and apps APIs
      .use(oauthRoutes(oauth))
      // The module contract (README "Module contract"): cookie-gated mints for
      // module pages: GET /admin/module-token/:short, /admin/vault-admin-token/:name,
      // /admin/host-admin-token
      .use(pageMintRoutes(deps.auth, { moduleNames, catalog }))
      // POST /api/auth/mint-token, GET /api/auth/tokens, POST /api/auth/revoke-token
      .use(mintTokenRoutes(deps.auth, catalog))
      // Credential connections: GET|POST /admin/connections, DELETE /admin/connections/:id,
      // POST /admin/connections/:id/renew
      .use(connectionsRoutes(deps.auth, credentials))
      // Agent-connector grants (vault kind): PUT|GET /admin/grants, POST /admin/grants/reconcile,
      // GET /admin/grants/:id/material, POST /admin/grants/:id/approve|revoke
      .use(agentGrantsRoutes(deps.auth, new AgentGrants(deps.auth), () => catalog().vaults))
      // Vault instances: POST /vaults, DELETE /vaults/:name
      .use(
        vaultsRoutes(deps.auth, {
          modules: deps.modules,
          catalog,
          pending: oauth.pending,
          credentials,
        }),
      )
      // GET|POST /api/setup, GET /api/setup/token (operator.token only, before setup)
      .use(setupRoutes(deps.auth))
      // POST /api/auth/login, /api/auth/login/totp, /api/auth/logout; GET /api/auth/session
      .use(loginRoutes(deps.auth))
      // POST /api/account/password, /api/account/totp/{setup,enable,disable}
      .use(accountRoutes(deps.auth))
      // GET|POST /api/users, POST /api/users/:id/reset-password, DELETE /api/users/:id
      .use(usersRoutes(deps.auth))
      // GET|PUT /api/hub/origin
      .use(originRoutes(deps.auth))
      // POST /api/hub/operator-token/rotate, /api/hub/signing-key/rotate
      .use(rotationRoutes(deps.auth))
      // GET|PUT /api/hub/apps-domain
      .use(appsDomainRoutes(deps.auth))
      // GET /api/audit (admin): who did what, when, from where
      .use(auditRoutes(deps.auth))
      .use(hubSettingsRoutes(deps.auth))
      // A module origin's own session: /api/module-session, .../start, .../callback,
      // .../logout there; .../authorize on the hub's origin
      .use(moduleSessionRoutes(deps.auth))
      // GET /api/modules/isolation, POST /api/modules/:name/isolation
      .use(isolationRoutes(deps.auth, deps.modules, deps.isolation))
      // /api/modules: list, install, operations, start|stop|restart, uninstall, logs
      .use(modulesRoutes(deps.auth, deps.modules))
      // GET /api/hub (admin): version, commit, origin, platform, region, uptime
      .use(hubInfoRoutes(deps.auth, latest))
      // GET /api/hub/export (admin): the whole hub as one .tar.gz (parachute import restores it)
      .use(exportRoutes(deps.auth))
      // GET /api/hub/provider-export (the hosting provider's PARACHUTE_EXPORT_TOKEN): the export before a teardown
      .use(providerExportRoutes(deps.auth))
      // POST /api/hub/import (the one-time import token, an empty hub under the Fly launcher)
      .use(importRoutes(deps.auth, deps.modules))
      // GET /api/hub/logs (the hub's own recent log lines; ?follow=1 streams)
      .use(hubLogsRoutes(deps.auth))
      // GET /api/hub/backups, PUT|DELETE /api/hub/backups/config, POST /api/hub/backups/run
      .use(backupRoutes(deps.auth, deps.backups))
      // GET|POST /api/hub/upgrade (admin): upgrade the hub binary, its progress; POST .../check
      .use(hubUpgradeRoutes(deps.auth, latest, deps.backups))
      // GET /admin, /admin/*, /login (embedded SPA)
      .use(spaRoutes(deps.spaFiles))
  );
}
