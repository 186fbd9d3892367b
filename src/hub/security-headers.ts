import { Elysia } from 'elysia';

/** Headers every response of the hub's own carries; pages that must not be framed add their own. */
export function securityHeaders() {
  return new Elysia({ name: 'hub.security-headers' }).onRequest(({ set }) => {
    set.headers['x-content-type-options'] = 'nosniff';
    set.headers['referrer-policy'] = 'same-origin';
  });
}
