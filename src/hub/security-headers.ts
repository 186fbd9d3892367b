import { Elysia } from 'elysia';
import { HUB_HEADERS } from './hub-headers.ts';

/** Adds HUB_HEADERS to every response of the hub's routes. */
export function securityHeaders() {
  return new Elysia({ name: 'hub.security-headers' }).onRequest(({ set }) => {
    Object.assign(set.headers, HUB_HEADERS);
  });
}
