// An https server on loopback that publishes OAuth Client ID Metadata
// Documents, with the test CA of test/fixtures/tls (the hub trusts it through
// NODE_EXTRA_CA_CERTS and fetches from `localhost` because the test names it
// in PARACHUTE_CIMD_PRIVATE_HOSTS). It also plays the broken and hostile
// document servers the hub must refuse.
import { resolve } from 'node:path';

const TLS = resolve(import.meta.dir, '../fixtures/tls');
export const TEST_CA = resolve(TLS, 'ca.pem');

export interface DocumentServer {
  /** `https://localhost:<port>` */
  origin: string;
  port: number;
  /** Publishes `doc` at `path`; its `client_id` is set to the document's own URL. */
  publish(path: string, doc: Record<string, unknown>, headers?: Record<string, string>): string;
  /** How many times `path` was fetched. */
  hits(path: string): number;
  stop(): void;
}

/**
 * Paths with a fixed behaviour: `/redirect-away` (302 to the same document on
 * 127.0.0.1, another host), `/big.json` (a valid-looking 6 KB document),
 * `/hang.json` (never answers), `/mismatch.json` (names another client_id).
 */
export function documentServer(): DocumentServer {
  const docs = new Map<string, { body: string; headers: Record<string, string> }>();
  const counts = new Map<string, number>();
  const hanging: (() => void)[] = [];
  const server: Bun.Server<undefined> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    tls: { cert: Bun.file(`${TLS}/localhost.pem`), key: Bun.file(`${TLS}/localhost.key`) },
    fetch(req): Response | Promise<Response> {
      const path = new URL(req.url).pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      const self = `${origin}${path}`;
      switch (path) {
        case '/redirect-away':
          return Response.redirect(`https://127.0.0.1:${server.port}/clients/plain.json`, 302);
        case '/big.json':
          return Response.json({
            client_id: self,
            client_name: 'x'.repeat(6 * 1024),
            redirect_uris: ['http://127.0.0.1/callback'],
          });
        case '/hang.json':
          return new Promise<Response>((done) => {
            hanging.push(() => done(new Response('too late')));
          });
        case '/mismatch.json':
          return Response.json({
            client_id: `${origin}/clients/someone-else.json`,
            client_name: 'Impostor',
            redirect_uris: ['http://127.0.0.1/callback'],
          });
      }
      const doc = docs.get(path);
      if (!doc) return new Response('not found', { status: 404 });
      return new Response(doc.body, {
        headers: { 'content-type': 'application/json', ...doc.headers },
      });
    },
  });
  const origin = `https://localhost:${server.port}`;
  return {
    origin,
    port: server.port as number,
    publish(path, doc, headers = {}) {
      const url = `${origin}${path}`;
      docs.set(path, { body: JSON.stringify({ ...doc, client_id: url }), headers });
      return url;
    },
    hits: (path) => counts.get(path) ?? 0,
    stop() {
      for (const release of hanging) release();
      server.stop(true);
    },
  };
}
