import { Elysia } from 'elysia';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { detectPlatform } from '../platform/host-platform.ts';
import type { LatestRelease } from '../upgrade/latest-release.ts';
import { COMMIT, VERSION } from '../version.ts';

/**
 * GET /api/hub (admins): what the Overview shows about the hub itself. An
 * object that grows: later fields (an available upgrade, the last backup)
 * join it without changing these.
 */
export function hubInfoRoutes(ctx: AuthContext, latest?: LatestRelease) {
  // The environment only changes with a restart: detect once.
  const facts = detectPlatform(ctx.env);
  return new Elysia({ name: 'hub.info' }).use(requireAuth(ctx)).get('/api/hub', () => {
    const uptimeS = Math.floor(process.uptime());
    return {
      version: VERSION,
      // The binary's own build commit; else what the platform deployed; null running from source.
      commit: COMMIT !== 'dev' ? COMMIT : facts.deployedCommit,
      image: facts.image,
      origin: ctx.origin,
      origin_source: ctx.originSource,
      platform: facts.platform,
      region: facts.region,
      runtime: `bun ${Bun.version}, ${process.platform}-${process.arch}`,
      started_at: new Date(Date.now() - uptimeS * 1000).toISOString(),
      uptime_s: uptimeS,
      pid: process.pid,
      home: ctx.home,
      // The release channel's answer, cached (never waits on the network).
      upgrade: latest?.peek() ?? null,
    };
  });
}
