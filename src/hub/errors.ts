import { Elysia } from 'elysia';
import { log } from '../platform/log.ts';
import { errorBody } from './error-body.ts';
import { notFoundPage, wantsPage } from './hub-page.ts';

/**
 * Maps framework errors to the hub's JSON shape. Unexpected errors are
 * logged with an id the user can quote; their details never reach the
 * client, where they could leak paths or secrets.
 */
export function errorMapping() {
  return new Elysia({ name: 'hub.errors' }).onError(
    { as: 'global' },
    ({ code, error, request, set }) => {
      const path = new URL(request.url).pathname;
      switch (code) {
        case 'NOT_FOUND':
          // A person who followed a link or typed an address gets a page.
          if ((request.method === 'GET' || request.method === 'HEAD') && wantsPage(request)) {
            return notFoundPage(path);
          }
          set.status = 404;
          return errorBody('not_found', `Nothing is served at ${request.method} ${path}.`);
        case 'PARSE':
          set.status = 400;
          return errorBody('invalid_request', 'The request body is not valid JSON or form data.');
        case 'VALIDATION':
          set.status = 400;
          return errorBody('invalid_request', error.message);
        default: {
          const id = crypto.randomUUID().slice(0, 8);
          log.error(`${request.method} ${path} failed (error id ${id}): ${String(error)}`);
          set.status = 500;
          return errorBody(
            'internal_error',
            `The hub hit an unexpected error (id ${id}); see its log.`,
          );
        }
      }
    },
  );
}
