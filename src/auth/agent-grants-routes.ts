import { Elysia } from 'elysia';
import { type AgentGrants, agentProblem, checkSpec, type VaultSpec } from './agent-grants.ts';
import { audit } from './audit.ts';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { authenticate, bearerToken, type Principal } from './guard.ts';
import { adminPageCaller, noStore } from './page-caller.ts';
import type { User } from './users.ts';

const MAX_LIVE = 256;

/**
 * Agent-connector grants (upstream's /admin/grants; vault grants only):
 *
 *   PUT  /admin/grants                 {agent, connection}          agent module -> 201 new / 200 existing listing
 *   GET  /admin/grants?agent=          agent module                 -> {grants: [listing]}
 *   POST /admin/grants/reconcile       {agent, liveConnections}     agent module -> {pruned, prunedIds}
 *   GET  /admin/grants/:id/material    agent module                 -> {kind: "vault", token, mcpUrl}; 409 not_approved
 *   POST /admin/grants/:id/approve     an admin, in person          -> listing
 *   POST /admin/grants/:id/revoke      an admin, or the agent module -> listing
 *
 * The agent module holds the host's bearer (`parachute:host:admin`); it
 * may ask and fetch, but approving takes an admin's own browser session
 * on the hub's origin: a module never approves its own asks.
 */
export function agentGrantsRoutes(ctx: AuthContext, grants: AgentGrants, vaults: () => string[]) {
  const moduleAuth = async (request: Request) => {
    const check = await authenticate(ctx, request, 'parachute:host:admin');
    return check.ok ? null : noStore(check.status, check.body);
  };
  // Asks, approvals, revocations and prunes are recorded: each gives or ends vault access.
  const recorded = (
    request: Request,
    who: Principal | User | null,
    action: string,
    id: string,
    detail?: Record<string, unknown>,
  ) => audit(ctx, request, who, { action, target: id, outcome: 'success', detail });
  const described = (listing: { agent: string; connection: VaultSpec }) => ({
    agent: listing.agent,
    vault: listing.connection.target,
    access: listing.connection.access,
  });
  const notFound = (id: string) => noStore(404, authError('not_found', `No grant "${id}".`));
  return new Elysia({ name: 'auth.agent-grants' })
    .put('/admin/grants', async ({ request, body }) => {
      const check = await authenticate(ctx, request, 'parachute:host:admin');
      if (!check.ok) return noStore(check.status, check.body);
      const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
      const bad = agentProblem(b.agent);
      if (bad) return noStore(400, authError('invalid_request', bad));
      const spec = checkSpec(b.connection, vaults());
      if (!spec.ok) return noStore(400, authError(spec.error, spec.why));
      const { created, listing } = grants.upsert(b.agent as string, spec.spec);
      if (created)
        recorded(request, check.principal, 'grant.request', listing.id, described(listing));
      return noStore(created ? 201 : 200, listing);
    })
    .get('/admin/grants', async ({ request, query }) => {
      const refused = await moduleAuth(request);
      if (refused) return refused;
      const agent = typeof query.agent === 'string' ? query.agent : null;
      return noStore(200, { grants: grants.list(agent) });
    })
    .post('/admin/grants/reconcile', async ({ request, body }) => {
      const check = await authenticate(ctx, request, 'parachute:host:admin');
      if (!check.ok) return noStore(check.status, check.body);
      const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
      const bad = agentProblem(b.agent);
      if (bad) return noStore(400, authError('invalid_request', bad));
      const live = b.liveConnections;
      if (!Array.isArray(live) || live.length > MAX_LIVE) {
        return noStore(
          400,
          authError(
            'invalid_request',
            `liveConnections must be a list of at most ${MAX_LIVE} connections.`,
          ),
        );
      }
      // Specs this hub cannot hold (other kinds, gone vaults) keep nothing alive.
      const specs = live
        .map((c) => checkSpec(c, vaults()))
        .flatMap((s) => (s.ok ? [s.spec] : [])) as VaultSpec[];
      const prunedIds = grants.reconcile(b.agent as string, specs);
      for (const id of prunedIds) {
        recorded(request, check.principal, 'grant.prune', id, { agent: b.agent });
      }
      return noStore(200, { pruned: prunedIds.length, prunedIds });
    })
    .get('/admin/grants/:id/material', async ({ request, params }) => {
      const refused = await moduleAuth(request);
      if (refused) return refused;
      const row = grants.byId(params.id);
      if (!row) return notFound(params.id);
      const material = grants.material(row);
      if (!material) {
        return noStore(
          409,
          authError(
            'not_approved',
            `Grant "${row.id}" is ${grants.status(row)}: an admin must approve it first.`,
          ),
        );
      }
      return noStore(200, material);
    })
    .post('/admin/grants/:id/approve', async ({ request, params }) => {
      // In person only: never a bearer, whatever it holds.
      if (bearerToken(request)) {
        return noStore(
          403,
          authError(
            'approval_needs_admin',
            'An admin approves grants in their own browser session, not with a token.',
          ),
        );
      }
      const check = adminPageCaller(ctx, request);
      if (!check.ok) return check.response;
      if (check.caller.module !== null) {
        return noStore(
          403,
          authError('wrong_module', 'Grants are approved on the hub’s own origin only.'),
        );
      }
      const row = grants.byId(params.id);
      if (!row) return notFound(params.id);
      const approved = await grants.approve(row, check.caller.user.id);
      recorded(request, check.caller.user, 'grant.approve', row.id, described(approved));
      return noStore(200, approved);
    })
    .post('/admin/grants/:id/revoke', async ({ request, params }) => {
      // Revoking only takes authority away: the agent module may do it too.
      let who: Principal | User;
      if (bearerToken(request)) {
        const check = await authenticate(ctx, request, 'parachute:host:admin');
        if (!check.ok) return noStore(check.status, check.body);
        who = check.principal;
      } else {
        const check = adminPageCaller(ctx, request);
        if (!check.ok) return check.response;
        who = check.caller.user;
      }
      const row = grants.byId(params.id);
      if (!row) return notFound(params.id);
      const revoked = grants.revoke(row);
      recorded(request, who, 'grant.revoke', row.id, described(revoked));
      return noStore(200, revoked);
    });
}
