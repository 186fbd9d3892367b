import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import * as z from 'zod/mini';
import { audit } from '../auth/audit.ts';
import type { AuthContext } from '../auth/context.ts';
import { type Principal, requireAuth } from '../auth/guard.ts';
import { log } from '../platform/log.ts';
import { sseResponse } from '../platform/sse.ts';
import { followLog } from '../supervisor/log-sse.ts';
import { ShuttingDownError } from '../supervisor/supervisor.ts';
import { EnvEditError, envKeys, updateEnv } from './env-file.ts';
import { dependencies } from './installer.ts';
import type { ModuleManager } from './manager.ts';
import { givenManifestProblems } from './manifest-check.ts';
import { type Operation, OperationInProgressError } from './operations.ts';
import { describeIssue } from './schema.ts';
import { linksOf } from './ui-links.ts';
import { receiveUpload } from './upload.ts';

const err = (error: string, description: string) => ({ error, error_description: description });

const SHUTTING_DOWN = err(
  'shutting_down',
  'The hub is shutting down: modules cannot be installed, started or changed now. Try again once it runs again.',
);

/**
 * Starts a module operation, or answers 409 naming the one that runs
 * (they run one at a time hub-wide; modules.md section 3 allows waiting or
 * 409, and 409 with its id lets a client follow it and try again).
 */
function begin(start: () => Operation): { operation: Operation } | { conflict: object } {
  try {
    return { operation: start() };
  } catch (error) {
    if (!(error instanceof OperationInProgressError)) throw error;
    return { conflict: conflict(error) };
  }
}

function conflict({ message, running }: OperationInProgressError) {
  return { ...err('operation_in_progress', message), operation_id: running.id };
}

/** How long GET /api/modules/events gathers state changes before sending the list. */
const LIST_COALESCE_MS = 100;

/** PUT /api/modules/:name/env: keys to set (a string) or remove (null); others are kept. */
const EnvBody = z.object({
  values: z.record(z.string(), z.nullable(z.string())),
});

/** POST /api/modules/install */
const InstallBody = z.object({
  /** npm name (`name@1.2.3`), a local folder or .tgz path on the hub's host, or a tarball URL. */
  package: z.string().check(z.minLength(1)),
  /** Version or dist-tag; default latest. */
  channel: z.optional(z.string().check(z.minLength(1))),
  /** module.json for a package that ships none (modules.md section 3). */
  manifest: z.optional(z.unknown()),
});

/** POST /api/modules/:name/upgrade */
const UpgradeBody = z.object({
  /** Version or dist-tag for a registry package; default latest. */
  channel: z.optional(z.string().check(z.minLength(1))),
  /** A .tgz or folder of the same package on the hub's host, instead of where it came from. */
  from: z.optional(z.string().check(z.minLength(1))),
});

/** The uploaded tarballs the install root records as where a package came from. */
function uploadSources(manager: ModuleManager): Set<string> {
  const uploads = join(manager.home, 'uploads');
  return new Set(
    Object.values(dependencies(manager.installRoot))
      .map((spec) => spec.replace(/^file:/, ''))
      .filter((path) => dirname(path) === uploads),
  );
}

/** Deletes those of `paths` the install root no longer names as a source. */
function forgetUploads(manager: ModuleManager, paths: Iterable<string>): void {
  const now = uploadSources(manager);
  for (const path of paths) if (!now.has(path)) rmSync(path, { force: true });
}

/** The module operations API of modules.md section 6. */
export function modulesRoutes(auth: AuthContext, manager: ModuleManager) {
  const known = (name: string) => manager.resolve(name);
  // An operation's start now and its outcome when it settles, both in the audit log.
  const audited = (
    request: Request,
    who: Principal,
    action: string,
    target: string,
    op: Operation,
  ) => {
    const entry = { action, target, detail: { operation_id: op.id } };
    audit(auth, request, who, { ...entry, outcome: 'started' });
    void manager.operations
      .settled(op)
      .then((done) =>
        audit(auth, request, who, {
          ...entry,
          // An upload's module is known only once its package is read: name it.
          target: done.module ?? target,
          outcome: done.state === 'succeeded' ? 'success' : 'failure',
          detail: { operation_id: op.id, ...(done.error ? { error: done.error } : {}) },
        }),
      )
      .catch((error) => log.warn(`could not record ${action} in the audit log: ${error}`));
  };
  const listed = () => ({
    // `links`: where each module's UI lives, resolved (ui-links.ts); the Overview's tiles.
    modules: manager.list().map((view) => ({
      ...view,
      links: linksOf(view, auth),
    })),
  });
  return new Elysia({ name: 'modules.api' })
    .use(requireAuth(auth))
    .get('/api/modules', () => listed())
    .get('/api/modules/events', () =>
      sseResponse((send) => {
        // A start moves through several states in a few ms: one list per burst.
        let pending: Timer | undefined;
        send('modules', listed());
        const off = manager.onChange(() => {
          pending ??= setTimeout(() => {
            pending = undefined;
            send('modules', listed());
          }, LIST_COALESCE_MS);
        });
        return () => {
          clearTimeout(pending);
          off();
        };
      }),
    )
    .post('/api/modules/install', ({ request, principal, body, status }) => {
      const parsed = InstallBody.safeParse(body ?? {});
      if (!parsed.success) {
        return status(400, err('invalid_request', describeIssue(parsed.error, body ?? {})));
      }
      const { package: pkg, channel, manifest } = parsed.data;
      const spec =
        channel && !pkg.includes('/') && !pkg.endsWith('.tgz') ? `${pkg}@${channel}` : pkg;
      if (manager.shuttingDown) return status(503, SHUTTING_DOWN);
      // A given manifest is checked now, each wrong field named (`fields`), so a form can mark it.
      const problems =
        manifest === undefined
          ? null
          : givenManifestProblems(manifest, manager.installedRows(), known);
      if (problems) {
        return status(400, {
          ...err('invalid_manifest', `The manifest is invalid: ${problems.description}`),
          fields: problems.fields,
        });
      }
      const started = begin(() => manager.install(spec, manifest));
      if ('conflict' in started) return status(409, started.conflict);
      audited(request, principal, 'module.install', spec, started.operation);
      return status(202, { operation_id: started.operation.id });
    })
    .post(
      '/api/modules/upload',
      async ({ request, principal, query, status }) => {
        if (manager.shuttingDown) return status(503, SHUTTING_DOWN);
        // ?upgrade=<module>: the upload is a newer version of that module's package.
        const upgrading = typeof query.upgrade === 'string' ? query.upgrade : null;
        const name = upgrading === null ? null : known(upgrading);
        if (upgrading !== null && !name) {
          return status(404, err('unknown_module', `No module named ${upgrading}.`));
        }
        const received = await receiveUpload(request, manager.home);
        if (!received.ok) {
          return status(received.status, err(received.error, received.description));
        }
        const sources = uploadSources(manager);
        const started = begin(() =>
          name ? manager.upgrade(name, undefined, received.path) : manager.install(received.path),
        );
        if ('conflict' in started) {
          rmSync(received.path, { force: true });
          return status(409, started.conflict);
        }
        if (name) audited(request, principal, 'module.upgrade', name, started.operation);
        else audited(request, principal, 'module.install', 'uploaded .tgz', started.operation);
        // An upload stays while the install root names it as a package's source (an
        // upgrade's rollback adds it again); the one it replaced, or a failed one, goes.
        void manager.operations
          .settled(started.operation)
          .finally(() => forgetUploads(manager, [received.path, ...sources]));
        return status(202, { operation_id: started.operation.id });
      },
      // The body is streamed to disk by receiveUpload, never parsed.
      { parse: 'none' },
    )
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
    .post('/api/modules/:name/:action', async ({ request, principal, params, body, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      const action = params.action;
      if (manager.shuttingDown) return status(503, SHUTTING_DOWN);
      if (action === 'upgrade') {
        const parsed = UpgradeBody.safeParse(body ?? {});
        if (!parsed.success) {
          return status(400, err('invalid_request', describeIssue(parsed.error, body ?? {})));
        }
        const { channel, from } = parsed.data;
        const started = begin(() => manager.upgrade(name, channel, from));
        if ('conflict' in started) return status(409, started.conflict);
        audited(request, principal, 'module.upgrade', name, started.operation);
        return status(202, { operation_id: started.operation.id });
      }
      if (action !== 'start' && action !== 'stop' && action !== 'restart') {
        return status(
          404,
          err('not_found', `Unknown action ${action}: use start, stop, restart or upgrade.`),
        );
      }
      const notStartable = action === 'stop' ? null : manager.whyNotStartable(name);
      if (notStartable) return status(422, err('no_start_cmd', notStartable));
      const changing = manager.operations.runningOn(name);
      if (changing) return status(409, conflict(new OperationInProgressError(changing)));
      try {
        const state = await manager.supervisor[action](name);
        audit(auth, request, principal, {
          action: `module.${action}`,
          target: name,
          outcome: 'success',
        });
        return { name, state };
      } catch (error) {
        // Shutdown began after the check above, before the start ran.
        if (error instanceof ShuttingDownError) return status(503, SHUTTING_DOWN);
        throw error;
      }
    })
    .delete('/api/modules/:name', async ({ request, principal, params, query, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      if (manager.shuttingDown) return status(503, SHUTTING_DOWN);
      const purge = query.purge === '1';
      const sources = uploadSources(manager);
      const started = begin(() => manager.uninstall(name, purge));
      if ('conflict' in started) return status(409, started.conflict);
      audited(request, principal, 'module.uninstall', name, started.operation);
      const done = await manager.operations.settled(started.operation);
      forgetUploads(manager, sources);
      if (done.state === 'failed') {
        return status(500, {
          ...err('uninstall_failed', `${name} could not be uninstalled: ${done.error}`),
          operation_id: done.id,
        });
      }
      return { name, uninstalled: true, purged: purge, operation_id: done.id };
    })
    .get('/api/modules/:name/env', ({ params, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      return { name, settings: envKeys(manager.envPath(name)) };
    })
    .put('/api/modules/:name/env', ({ request, principal, params, body, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      const parsed = EnvBody.safeParse(body ?? {});
      if (!parsed.success) {
        return status(400, err('invalid_request', describeIssue(parsed.error, body ?? {})));
      }
      // The names of the keys changed, never their values (they are often secrets).
      const keys = (removed: boolean) =>
        Object.entries(parsed.data.values)
          .filter(([, value]) => (value === null) === removed)
          .map(([key]) => key.slice(0, 64));
      const [set, removed] = [keys(false), keys(true)];
      const changed = { ...(set.length ? { set } : {}), ...(removed.length ? { removed } : {}) };
      try {
        updateEnv(manager.envPath(name), parsed.data.values);
      } catch (error) {
        if (error instanceof EnvEditError) {
          audit(auth, request, principal, {
            action: 'module.env',
            target: name,
            outcome: 'failure',
          });
          return status(400, err('invalid_request', error.message));
        }
        throw error;
      }
      audit(auth, request, principal, {
        action: 'module.env',
        target: name,
        outcome: 'success',
        detail: changed,
      });
      // Applied at the next start: the module reads its environment once.
      return { name, settings: envKeys(manager.envPath(name)), restart_needed: true };
    })
    .get('/api/modules/:name/logs', ({ params, query, status }) => {
      const name = known(params.name);
      if (!name) return status(404, err('unknown_module', `No module named ${params.name}.`));
      const buffer = manager.supervisor.logs(name);
      const tail =
        query.tail === undefined ? undefined : Math.max(0, Number.parseInt(query.tail, 10) || 0);
      if (query.follow !== '1') return { name, lines: buffer.tail(tail) };
      return followLog(buffer, tail, query.batch === '1');
    });
}
