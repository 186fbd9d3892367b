import { Elysia } from 'elysia';
import { audit } from '../auth/audit.ts';
import type { CredentialConnections } from '../auth/connection-credentials.ts';
import { connections } from '../auth/connections.ts';
import type { AuthContext } from '../auth/context.ts';
import { authError } from '../auth/errors.ts';
import { type Principal, requireAuth } from '../auth/guard.ts';
import type { PendingAuthorizations } from '../auth/oauth/pending.ts';
import type { ScopeCatalog } from '../auth/oauth/scopes.ts';
import { noStore } from '../auth/page-caller.ts';
import { cascadeVaultIdentity } from '../auth/vault-cascade.ts';
import type { ModuleManager } from './manager.ts';
import { type Operation, OperationInProgressError } from './operations.ts';
import { findVaultModule, lastJsonLine, runVaultCli, type VaultModule } from './vault-cli.ts';

/** Upstream vault's name rules: the vault CLI and SPA check the same. */
const VAULT_NAME = /^[a-z0-9_-]{2,32}$/;
const RESERVED = ['list', 'new', 'assets', 'admin'];
/** A new mount is routable within a second (services.json is polled); allow for a slow disk. */
const MOUNT_WAIT_MS = 10_000;

export interface VaultsDeps {
  modules: ModuleManager;
  catalog: () => ScopeCatalog;
  pending: PendingAuthorizations;
  credentials: CredentialConnections;
}

const TOKEN_GUIDANCE =
  'No token is minted at creation: connect apps with OAuth (they ask for this vault on the consent page), or mint one with POST /api/auth/mint-token and scope vault:<name>:read|write.';

/**
 * Vault instances (issue 15 point 2, upstream's vault provisioning):
 *
 *   POST   /vaults          {name}            -> 201 {name, url, version, token, token_guidance, paths?}; 200 when it exists
 *   DELETE /vaults/:name    {confirm: name}   -> {ok, name, cascade, warnings?}
 *
 * The vault module's own CLI does the vault's side (`create`, `remove`),
 * run as one of the hub's module operations so it never races an install
 * (409 operation_in_progress). Deleting first takes away everything the
 * hub granted on the vault (auth/vault-cascade.ts, connections), so no
 * token for it keeps working.
 */
export function vaultsRoutes(ctx: AuthContext, deps: VaultsDeps) {
  const url = (name: string) => `${ctx.origin}/vault/${name}`;
  const vaults = () => deps.catalog().vaults;
  return (
    new Elysia({ name: 'modules.vaults' })
      .use(requireAuth(ctx))
      // Both are recorded in the audit log with what they answered. (In the
      // handlers: a hook reading `body` would make Elysia parse every route's.)
      .post('/vaults', async ({ request, principal, body }) => {
        const named = (body as { name?: unknown } | null)?.name;
        const answer = await create(body);
        recorded(request, principal, 'vault.create', named, answer);
        return answer;
      })
      .delete('/vaults/:name', async ({ request, principal, params, body }) => {
        const answer = await remove(params.name, body);
        recorded(request, principal, 'vault.delete', params.name, answer);
        return answer;
      })
  );

  function recorded(
    request: Request,
    principal: Principal,
    action: string,
    named: unknown,
    answer: Response,
  ): void {
    audit(ctx, request, principal, {
      action,
      target: typeof named === 'string' ? named.slice(0, 64) : '',
      outcome: answer.status < 300 ? 'success' : 'failure',
      detail: { status: answer.status },
    });
  }

  async function create(body: unknown): Promise<Response> {
    const name = (body as { name?: unknown } | null)?.name;
    const problem = nameProblem(name, true);
    if (problem) return noStore(400, authError('invalid_request', problem));
    const vaultName = name as string;
    const vault = findVaultModule(deps.modules);
    if (!vault) return noVaultModule();
    if (vaults().includes(vaultName)) {
      return noStore(200, { name: vaultName, url: url(vaultName), version: vault.version });
    }
    return locked(deps.modules, 'vault-create', vault, vaultName, async () => {
      const made = await runVaultCli(deps.modules, vault, ['create', vaultName, '--json']);
      if (!made.ok) return serverError(`Creating the vault failed: ${made.problem}`);
      if (!(await mountIs(deps.modules, vaultName, true))) {
        // Not routed: undo the CLI's work rather than leave a vault nobody reaches.
        const undone = await runVaultCli(deps.modules, vault, ['remove', vaultName, '--yes']);
        return serverError(
          `${vault.row} created "${vaultName}" but did not mount /vault/${vaultName} within ${MOUNT_WAIT_MS / 1000} s; ${undone.ok ? 'it was removed again' : `removing it failed too: ${undone.problem}`}.`,
        );
      }
      const out = lastJsonLine(made.stdout) ?? {};
      return noStore(201, {
        name: vaultName,
        url: url(vaultName),
        version: vault.version,
        token: typeof out.token === 'string' ? out.token : '',
        token_guidance:
          typeof out.token_guidance === 'string' ? out.token_guidance : TOKEN_GUIDANCE,
        ...(out.paths && typeof out.paths === 'object' ? { paths: out.paths } : {}),
      });
    });
  }

  async function remove(name: string, body: unknown): Promise<Response> {
    const problem = nameProblem(name, false);
    if (problem) return noStore(400, authError('invalid_request', problem));
    if ((body as { confirm?: unknown } | null)?.confirm !== name) {
      return noStore(
        400,
        authError(
          'confirm_mismatch',
          `To delete the vault, send {"confirm": "${name}"}: its notes and every access to it go.`,
        ),
      );
    }
    const vault = findVaultModule(deps.modules);
    if (!vault || !vaults().includes(name)) {
      return noStore(404, authError('not_found', `No vault named "${name}" on this hub.`));
    }
    if (vaults().length === 1) {
      return noStore(
        409,
        authError(
          'last_vault',
          `"${name}" is the last vault; the hub does not delete it. To remove it anyway, run the vault module's CLI on the host: ${vault.row} remove ${name} --yes.`,
        ),
      );
    }
    return locked(deps.modules, 'vault-remove', vault, name, async () => {
      const warnings: { step: string; detail: string }[] = [];
      const identity = cascadeVaultIdentity(ctx.db, deps.pending, name);
      const linked = connections.onVault(ctx.db, name);
      for (const c of linked) {
        for (const e of await deps.credentials.teardown(c)) {
          warnings.push({ step: `connection ${c.id}: ${e.step}`, detail: e.detail });
        }
      }
      const removed = await runVaultCli(deps.modules, vault, ['remove', name, '--yes']);
      if (!removed.ok) {
        return serverError(
          `Every token, grant and connection for "${name}" was revoked, but removing the vault itself failed: ${removed.problem}`,
        );
      }
      if (!(await mountIs(deps.modules, name, false))) {
        warnings.push({
          step: 'unmount',
          detail: `${vault.row} still lists /vault/${name} in services.json`,
        });
      }
      return noStore(200, {
        ok: true,
        name,
        cascade: {
          ...identity,
          invites_invalidated: 0,
          connections_torn_down: linked.length,
          orphaned_channels: [],
          vault_removed: true,
          // The hub stops routing the mount; the module need not restart for that.
          module_restarted: false,
        },
        ...(warnings.length > 0 ? { warnings } : {}),
      });
    });
  }
}

function nameProblem(name: unknown, checkReserved: boolean): string | null {
  if (typeof name !== 'string' || !VAULT_NAME.test(name)) {
    return 'name: use 2-32 lowercase letters, digits, _ and -.';
  }
  if (checkReserved && RESERVED.includes(name)) {
    return `name: "${name}" is reserved (${RESERVED.join(', ')}).`;
  }
  return null;
}

/**
 * Runs `work` holding the hub-wide module-operation lock, as an operation
 * on the vault module (so it cannot be started or stopped meanwhile), and
 * answers what `work` answers; 409 while another operation runs.
 */
async function locked(
  modules: ModuleManager,
  kind: Operation['kind'],
  vault: VaultModule,
  name: string,
  work: () => Promise<Response>,
): Promise<Response> {
  let answer: Response = serverError('The vault operation ended without an answer.');
  let op: Operation;
  try {
    op = modules.operations.run(kind, name, async (progress, running) => {
      running.module = vault.row;
      answer = await work();
      progress(`${kind} ${name}: ${answer.status}`);
    });
  } catch (error) {
    if (!(error instanceof OperationInProgressError)) throw error;
    return noStore(409, {
      ...authError('operation_in_progress', error.message),
      operation_id: error.running.id,
    });
  }
  const done = await modules.operations.settled(op);
  if (done.state === 'failed') return serverError(`The vault operation failed: ${done.error}`);
  return answer;
}

/** Polls the routing table until `/vault/<name>` is (or is no longer) mounted. */
async function mountIs(modules: ModuleManager, name: string, present: boolean): Promise<boolean> {
  const deadline = Date.now() + MOUNT_WAIT_MS;
  const prefix = `/vault/${name}`;
  for (;;) {
    if (modules.mounts.some((m) => m.prefix === prefix) === present) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(100);
  }
}

function noVaultModule(): Response {
  return noStore(
    409,
    authError(
      'no_vault_module',
      'No vault module is installed (none mounts /vault/<name>): install one first.',
    ),
  );
}

function serverError(description: string): Response {
  return noStore(500, authError('server_error', description));
}
