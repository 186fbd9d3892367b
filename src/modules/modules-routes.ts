import { Elysia } from 'elysia';
import * as z from 'zod/mini';
import type { AuthContext } from '../auth/context.ts';
import { requireAuth } from '../auth/guard.ts';
import { sseResponse } from '../platform/sse.ts';
import type { ModuleManager } from './manager.ts';
import { describeIssue } from './schema.ts';

const err = (error: string, description: string) => ({ error, error_description: description });

/** POST /api/modules/install */
const InstallBody = z.object({
  /** npm name (`name@1.2.3`), a local folder or a .tgz path on the hub's host. */
  package: z.string().check(z.minLength(1)),
  /** Version or dist-tag; default latest. */
  channel: z.optional(z.string().check(z.minLength(1))),
  /** module.json for a package that ships none (modules.md section 3). */
  manifest: z.optional(z.unknown()),
});

/** The module operations API of modules.md section 6. */
export function modulesRoutes(auth: AuthContext, manager: ModuleManager) {
  const known = (name: string) => manager.resolve(name);
  return new Elysia({ name: 'modules.api' })
    .use(requireAuth(auth))
    .get('/api/modules', () => ({ modules: manager.list() }))
    .post('/api/modules/install', ({ body, status }) => {
      const parsed = InstallBody.safeParse(body ?? {});
      if (!parsed.success) {
        return status(400, err('invalid_request', describeIssue(parsed.error, body ?? {})));
      }
      const { package: pkg, channel, manifest } = parsed.data;
      const spec =
        channel && !pkg.includes('/') && !pkg.endsWith('.tgz') ? `${pkg}@${channel}` : pkg;
      if (manager.operations.busy(spec)) {
        return status(409, err('operation_in_progress', `${spec} is already being installed`));
      }
      const op = manager.install(spec, manifest);
      return status(202, { operation_id: op.id });
    })
    .get('/api/modules/operations/:id', ({ params, query, status }) => {
      const op = manager.operations.get(params.id);
      if (!op) return status(404, err('unknown_operation', `No operation ${params.id}.`));
      if (query.follow !== '1') return op;
      return sseResponse((send, close) => {
        for (const line of op.lines) send('line', line);
        if (op.state !== 'running') {
          send('done', op);
          close();
          return () => {};
        }
        return manager.operations.subscribe(op.id, (current, line) => {
          if (line !== undefined) send('line', { ts: Date.now(), line });
          if (current.state !== 'running') {
            send('done', current);
            close();
          }
        });
      });
    })
    .post('/api/modules/:name/:action', async ({ params, body, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      const action = params.action;
      if (action === 'upgrade') {
        if (manager.operations.busy(name))
          return status(409, err('operation_in_progress', `${name} is being changed.`));
        const channel = (body as { channel?: unknown } | undefined)?.channel;
        const op = manager.upgrade(
          name,
          typeof channel === 'string' && channel ? channel : undefined,
        );
        return status(202, { operation_id: op.id });
      }
      if (action !== 'start' && action !== 'stop' && action !== 'restart') {
        return status(
          404,
          err('not_found', `Unknown action ${action}: use start, stop, restart or upgrade.`),
        );
      }
      const notStartable = action === 'stop' ? null : manager.whyNotStartable(name);
      if (notStartable) return status(422, err('no_start_cmd', notStartable));
      if (manager.operations.busy(name))
        return status(409, err('operation_in_progress', `${name} is being changed.`));
      const state = await manager.supervisor[action](name);
      return { name, state };
    })
    .delete('/api/modules/:name', async ({ params, query, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      if (manager.operations.busy(name))
        return status(409, err('operation_in_progress', `${name} is being changed.`));
      await manager.uninstall(name, query.purge === '1');
      return { name, uninstalled: true, purged: query.purge === '1' };
    })
    .get('/api/modules/:name/logs', ({ params, query, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      const buffer = manager.supervisor.logs(name);
      const tail =
        query.tail === undefined ? undefined : Math.max(0, Number.parseInt(query.tail, 10) || 0);
      if (query.follow !== '1') return { name, lines: buffer.tail(tail) };
      return sseResponse((send) => {
        for (const line of buffer.tail(tail)) send('line', line);
        return buffer.subscribe((lines) => {
          for (const line of lines) send('line', line);
        });
      });
    });
}
