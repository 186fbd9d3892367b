import type { Database } from 'bun:sqlite';
import { log } from '../platform/log.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { bootstrapBanner } from './bootstrap.ts';
import { AuthContext } from './context.ts';
import { mintOperatorToken, operatorTokenStale } from './operator-token.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { sessions } from './sessions.ts';
import { SigningKeys } from './signing-keys.ts';
import { USERNAME_PATTERN, users } from './users.ts';

type Env = Record<string, string | undefined>;

const MAINTENANCE_EVERY_MS = 6 * 3600 * 1000;

/**
 * Everything auth needs at boot: the origin, the first
 * admin (from env, else the bootstrap banner), a fresh operator token, and
 * a timer that keeps the operator token fresh and prunes dead sessions.
 */
export async function startAuth(db: Database, home: string, port: number, env: Env) {
  // The signing key is created on first need (see SigningKeys.ensureActive).
  const ctx = new AuthContext(db, new SigningKeys(db), home, port, env);
  await seedAdminFromEnv(ctx, env);
  if (!ctx.hasAdmin) {
    const banner = bootstrapBanner(ctx.bootstrap.issue(), `${ctx.origin}/admin/setup`);
    for (const line of banner.split('\n')) log.info(line);
  }
  await maintain(ctx);
  const timer = setInterval(
    () => void maintain(ctx).catch((e) => log.error(String(e))),
    MAINTENANCE_EVERY_MS,
  );
  timer.unref();
  return { ctx, stop: () => clearInterval(timer) };
}

async function maintain(ctx: AuthContext): Promise<void> {
  sessions.prune(ctx.db);
  ctx.db.run('DELETE FROM revoked_tokens WHERE expires_at < ?', [Date.now()]);
  if (!ctx.hasAdmin) return;
  const path = hubPaths(ctx.home).operatorToken;
  const why = operatorTokenStale(path, ctx.origin);
  if (why) {
    await mintOperatorToken(ctx, path);
    log.info(`operator token re-minted (${why}): ${path}`);
  }
}

/** PARACHUTE_INITIAL_ADMIN_USERNAME/_PASSWORD create the first admin when none exists. */
async function seedAdminFromEnv(ctx: AuthContext, env: Env): Promise<void> {
  const username = env.PARACHUTE_INITIAL_ADMIN_USERNAME?.trim();
  const password = env.PARACHUTE_INITIAL_ADMIN_PASSWORD;
  if (ctx.hasAdmin || !username || !password) return;
  if (!USERNAME_PATTERN.test(username)) {
    throw new OperatorError(
      `PARACHUTE_INITIAL_ADMIN_USERNAME "${username}" is not a valid username.`,
      'Use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
    );
  }
  const weak = passwordProblem(password, username);
  if (weak) {
    throw new OperatorError(
      `PARACHUTE_INITIAL_ADMIN_PASSWORD is refused: ${weak}`,
      'Set a stronger password and start again.',
    );
  }
  if (users.byUsername(ctx.db, username)) {
    throw new OperatorError(
      `PARACHUTE_INITIAL_ADMIN_USERNAME "${username}" already exists as a non-admin user.`,
      'Choose another username for the first admin.',
    );
  }
  users.create(ctx.db, {
    username,
    passwordHash: await hashPassword(password),
    role: 'admin',
    mustChangePassword: false,
  });
  ctx.refreshAdminExists();
  log.info(`admin "${username}" created from PARACHUTE_INITIAL_ADMIN_USERNAME`);
}
