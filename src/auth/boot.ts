import type { Database } from 'bun:sqlite';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { log } from '../platform/log.ts';
import { hubPaths } from '../platform/paths.ts';
import { getSetting } from '../store/settings.ts';
import { bootstrapBanner, presetSetupToken } from './bootstrap.ts';
import { AuthContext } from './context.ts';
import { seedInitialAdmin } from './initial-admin.ts';
import { mintOperatorToken, operatorTokenStale, readOperatorToken } from './operator-token.ts';
import { sessions } from './sessions.ts';
import { SigningKeys } from './signing-keys.ts';

type Env = Record<string, string | undefined>;

const MAINTENANCE_EVERY_MS = 6 * 3600 * 1000;

/**
 * Everything auth needs at boot: the origin, the first
 * admin (from env or a file, else the bootstrap banner), a fresh operator token, and
 * a timer that keeps the operator token fresh and prunes dead sessions.
 */
export async function startAuth(db: Database, home: string, port: number, env: Env) {
  // The signing key is created on first need (see SigningKeys.ensureActive).
  const ctx = new AuthContext(db, new SigningKeys(db), home, port, env);
  await seedInitialAdmin(ctx, env);
  if (!ctx.hasAdmin) {
    const preset = presetSetupToken(env, (message) => log.warn(message));
    const banner = bootstrapBanner(
      ctx.bootstrap.issue(preset),
      `${ctx.origin}/admin/setup`,
      preset !== null,
    );
    for (const line of banner.split('\n')) log.secret(line);
    // Until setup mints the real operator token there, operator.token holds a
    // secret that only reads the bootstrap token (`parachute setup-token`):
    // no signing key is made at boot for it.
    writeFileAtomic(hubPaths(home).operatorToken, `${ctx.bootstrap.readerSecret}\n`, {
      mode: 0o600,
    });
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
    // Just moved (fly/staged-import.ts): the old host keeps using its copy of the token.
    const moved = readOperatorToken(path)?.iss === getSetting(ctx.db, 'moved_from');
    await mintOperatorToken(ctx, path, { keepPrevious: moved });
    log.info(`operator token re-minted (${why}): ${path}`);
  }
}
