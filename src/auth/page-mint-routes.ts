import { Elysia } from 'elysia';
import type { AuthContext } from './context.ts';
import { authError } from './errors.ts';
import { mintToken, PAGES_CLIENT_ID, SHORT_MINT_TTL_S } from './mint.ts';
import { HOST_SCOPES } from './mint-rules.ts';
import type { ScopeCatalog } from './oauth/scopes.ts';
import { adminPageCaller, noStore, type PageCaller } from './page-caller.ts';

/** What the mints need to know about installed modules. */
export interface PageMintDeps {
  /** Short names of the modules with a readable module.json, and row names of the others. */
  moduleNames: () => { short: string | null; row: string }[];
  /** Mounts and scopes: which vaults exist and which module serves each. */
  catalog: () => ScopeCatalog;
}

const SHORT_NAME = /^[a-z][a-z0-9-]*$/;
const VAULT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The cookie-gated mints module pages call with the operator's session
 * (issue 15 point 1; the upstream hub's contract): ten-minute tokens for an
 * admin (recorded, unlisted, so they end with the person), asked for by a page of the hub's origin or of the
 * module's own origin (auth/page-caller.ts). On a module's own origin a
 * page gets only its own module's token, never another's and never the
 * host's. They are never requestable through OAuth.
 *
 *   GET /admin/module-token/<short>      aud <short>,        scope <short>:admin
 *   GET /admin/vault-admin-token/<name>  aud vault.<name>,   scope vault:<name>:admin
 *   GET /admin/host-admin-token          aud hub,            scope parachute:host:admin parachute:host:auth
 *
 * Answer: `{token, expires_at, scopes}` with `Cache-Control: no-store`.
 */
export function pageMintRoutes(ctx: AuthContext, deps: PageMintDeps) {
  const mint = async (caller: PageCaller, scopes: string[], audience: string, vaults: string[]) => {
    const minted = await mintToken(ctx, {
      subject: caller.user.id,
      userId: caller.user.id,
      clientId: PAGES_CLIENT_ID,
      scopes,
      audience,
      vaultScope: vaults,
      ttlSeconds: SHORT_MINT_TTL_S,
      // Recorded although short: deleting the person or resetting their
      // password then ends it at modules too, not ten minutes later.
      record: { via: 'page' },
    });
    return noStore(200, { token: minted.token, expires_at: minted.expiresAt, scopes });
  };
  return new Elysia({ name: 'auth.page-mints' })
    .get('/admin/module-token/:short', async ({ request, params }) => {
      const check = adminPageCaller(ctx, request);
      if (!check.ok) return check.response;
      const short = params.short;
      if (!SHORT_NAME.test(short)) {
        return noStore(400, authError('invalid_request', `"${short}" is not a module name.`));
      }
      // A vault module's tokens name one vault each: there is no module-wide one.
      const servesVaults = deps
        .catalog()
        .resources.some((r) => r.module === short && r.audience.startsWith('vault.'));
      if (servesVaults || short === 'vault') {
        return noStore(
          400,
          authError(
            'use_vault_admin_token',
            'Vault admin tokens are per vault: use GET /admin/vault-admin-token/<name>.',
          ),
        );
      }
      if (check.caller.module !== null && check.caller.module !== short) {
        return noStore(
          403,
          authError(
            'wrong_module',
            `This is ${check.caller.module}'s own origin: it gets only ${check.caller.module}'s token.`,
          ),
        );
      }
      const known = deps.moduleNames().some((m) => m.short === short);
      if (!known) {
        return noStore(
          404,
          authError(
            'not_found',
            `No module "${short}" is installed on this hub (or its module.json cannot be read).`,
          ),
        );
      }
      return mint(check.caller, [`${short}:admin`], short, []);
    })
    .get('/admin/vault-admin-token/:name', async ({ request, params }) => {
      const check = adminPageCaller(ctx, request);
      if (!check.ok) return check.response;
      const name = params.name;
      if (!VAULT_NAME.test(name)) {
        return noStore(400, authError('invalid_request', `"${name}" is not a vault name.`));
      }
      const vault = deps.catalog().resources.find((r) => r.audience === `vault.${name}`);
      if (!vault) {
        return noStore(404, authError('not_found', `No vault named "${name}" on this hub.`));
      }
      if (check.caller.module !== null && check.caller.module !== vault.module) {
        return noStore(
          403,
          authError(
            'wrong_module',
            `This is ${check.caller.module}'s own origin; the vault "${name}" belongs to ${vault.module}.`,
          ),
        );
      }
      return mint(check.caller, [`vault:${name}:admin`], `vault.${name}`, [name]);
    })
    .get('/admin/host-admin-token', async ({ request }) => {
      const check = adminPageCaller(ctx, request);
      if (!check.ok) return check.response;
      if (check.caller.module !== null) {
        return noStore(
          403,
          authError(
            'wrong_module',
            `The hub's own token is minted only for the hub's origin, never for a module's (${check.caller.module}).`,
          ),
        );
      }
      return mint(check.caller, [...HOST_SCOPES], 'hub', []);
    });
}
