// zod/mini: the same validation as zod at half the resident memory (about
// 5 MB instead of 10 MB in every hub process).
import * as z from 'zod/mini';
import { PASSWORD_MAX } from './passwords.ts';
import { USERNAME_PATTERN } from './users.ts';

// Length rules beyond "is a string" are checked by passwordProblem(), which
// answers 422 weak_password with words for the user instead of a 400.
const password = z.string().check(z.maxLength(PASSWORD_MAX * 4));
const username = z
  .string()
  .check(
    z.regex(
      USERNAME_PATTERN,
      'use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    ),
  );
const nonEmpty = (max = 4096) => z.string().check(z.minLength(1), z.maxLength(max));

/** POST /api/setup: the bootstrap token from the log, and the first admin. */
export const SetupBody = z.object({
  bootstrap_token: nonEmpty(), // the `parachute-bootstrap-…` line from the hub log
  username,
  password,
});

/** POST /api/auth/login */
export const LoginBody = z.object({ username: nonEmpty(64), password });

/** POST /api/auth/login/totp: the challenge from the login answer and a TOTP or backup code. */
export const TotpLoginBody = z.object({ challenge: nonEmpty(), code: nonEmpty(32) });

/** PUT /api/users/:id/vaults: vault names as in `/vault/<name>` mounts. */
export const UserVaultsBody = z.object({
  vaults: z
    .array(z.string().check(z.regex(/^[A-Za-z0-9._~-]{1,128}$/, 'use a vault name')))
    .check(z.maxLength(1000)),
});

/** POST /api/account/password */
export const ChangePasswordBody = z.object({ current_password: password, new_password: password });

/** POST /api/account/totp/enable */
export const EnableTotpBody = z.object({ code: nonEmpty(16) });

/** POST /api/account/totp/disable */
export const DisableTotpBody = z.object({ password });

/** POST /api/users: a new user gets a temporary password to change at first login. */
export const CreateUserBody = z.object({
  username,
  role: z._default(z.enum(['admin', 'user']), 'user'), // admins manage the hub; users use modules
});

/** PUT /api/hub/origin: null clears the saved origin (back to env/platform/loopback). */
export const OriginBody = z.object({ origin: z.nullable(nonEmpty()) });

/** PUT /api/hub/apps-domain: `apps.example.com` gives module x the origin x.apps.example.com; null clears it (back to PARACHUTE_APPS_DOMAIN, else shared). */
export const AppsDomainBody = z.object({ apps_domain: z.nullable(nonEmpty(253)) });

/**
 * Validates a JSON body; on failure returns the 400 invalid_request body
 * naming the first failing field.
 */
export function parseBody<T extends z.ZodMiniType>(
  schema: T,
  body: unknown,
):
  | { ok: true; data: z.infer<T> }
  | { ok: false; error: { error: string; error_description: string } } {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  return {
    ok: false,
    error: {
      error: 'invalid_request',
      error_description: `${field}: ${issue?.message ?? 'invalid'}`,
    },
  };
}

/** `permissions` on a minted token: vault reads `scoped_tags`, and refuses an empty list. */
export const MintPermissions = z.looseObject({
  scoped_tags: z.optional(
    z
      .array(z.string().check(z.minLength(1), z.maxLength(128)))
      .check(z.minLength(1, 'list at least one tag, or leave scoped_tags out'), z.maxLength(64)),
  ),
});

/** POST /api/auth/mint-token */
export const MintTokenBody = z.object({
  /** Space-separated scopes. */
  scope: nonEmpty(2048),
  /** Must be the audience the scopes are for, when given. */
  audience: z.optional(nonEmpty(256)),
  /** Seconds; default 90 days, at most 365. */
  expires_in: z.optional(z.int().check(z.gte(1), z.lte(365 * 24 * 3600))),
  /** The token's `sub`; only a token with the host's authority may choose it. */
  subject: z.optional(nonEmpty(128)),
  permissions: z.optional(MintPermissions),
});

/** POST /api/auth/revoke-token */
export const RevokeTokenBody = z.object({ jti: nonEmpty(128) });
