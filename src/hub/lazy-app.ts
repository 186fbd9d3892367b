import { log } from '../platform/log.ts';
import type { AppDeps } from './app.ts';
import { errorBody } from './error-body.ts';

type Fetch = (request: Request) => Response | Promise<Response>;

/**
 * The hub's own routes (admin API, OAuth issuer, SPA; hub/app.ts) as one
 * fetch function, built on the first request that needs them. A hub that
 * only proxies its modules and answers probes never loads Elysia or the
 * route modules, which keeps several MB of code and heap out of memory
 * (bench/boot.ts); the first request pays for the build once.
 */
export function lazyApp(deps: AppDeps): Fetch {
  let built: Fetch | undefined;
  let building: Promise<Fetch> | undefined;
  const build = async (): Promise<Fetch> => {
    try {
      const { createApp } = await import('./app.ts');
      const app = createApp(deps);
      built = (request) => app.fetch(request);
      return built;
    } catch (error) {
      // A bug, not bad input: say so on every request, and try again next time.
      building = undefined;
      log.error(`building the hub's routes failed: ${String(error)}`);
      return () =>
        Response.json(
          errorBody('internal_error', 'The hub could not load its routes; see its log.'),
          { status: 500 },
        );
    }
  };
  return (request) => {
    if (built) return built(request);
    building ??= build();
    return building.then((fetch) => fetch(request));
  };
}
