/**
 * The fake Fly edge (fly-proxy) in front of the fake's machines
 * (test/helpers/fake-fly.ts): a plain-HTTP Bun.serve on a free port that
 * plays `https://NAME.fly.dev`. It routes by the Host header to a started
 * machine of app NAME on the host port behind the service's internal_port,
 * and sets the request headers Fly documents
 * (fly.io/docs/networking/request-headers): Fly-Client-IP (overwriting what
 * the client sent), X-Forwarded-For (the client's address appended),
 * X-Forwarded-Proto https, X-Forwarded-Port 443, X-Forwarded-SSL on,
 * Fly-Forwarded-Port, Fly-Region, Fly-Request-Id, Via. Host is kept.
 * Bodies stream both ways (an export download, an import upload), with no
 * size cap and a long idle timeout. 502 when the app has no started machine
 * listening there, as Fly's proxy answers when no instance is available.
 */

/** Where the edge can send a request for an app: a started machine's host port. */
export type EdgeRoute = (app: string) => { port: number; region: string } | null;

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

export function startEdge(route: EdgeRoute) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    // An import upload is a whole hub; Bun's default cap is 128 MB.
    maxRequestBodySize: 64 * 1024 ** 3,
    idleTimeout: 255,
    async fetch(request, server) {
      const host = (request.headers.get('host') ?? '').replace(/:\d+$/, '').toLowerCase();
      const app = /^([a-z0-9-]+)\.fly\.dev$/.exec(host)?.[1];
      if (!app)
        return new Response(`no app is served at ${host || 'this address'}\n`, { status: 404 });
      const target = route(app);
      if (!target) return new Response('no started machine can serve this app\n', { status: 502 });
      const client = server.requestIP(request)?.address ?? '127.0.0.1';
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      for (const name of HOP_BY_HOP) headers.delete(name);
      const forwardedFor = headers.get('x-forwarded-for');
      headers.set('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${client}` : client);
      headers.set('fly-client-ip', client);
      headers.set('x-forwarded-proto', 'https');
      headers.set('x-forwarded-port', '443');
      headers.set('x-forwarded-ssl', 'on');
      headers.set('fly-forwarded-port', '443');
      headers.set('fly-region', target.region);
      headers.set('fly-request-id', crypto.randomUUID());
      headers.set('via', '1.1 fly.io');
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      try {
        // Bodies pass as they are: streamed (duplex) and never decompressed.
        const init: RequestInit & { decompress: boolean; duplex: 'half' } = {
          method: request.method,
          headers,
          body: hasBody ? request.body : undefined,
          redirect: 'manual',
          decompress: false,
          duplex: 'half',
        };
        const upstream = await fetch(
          `http://127.0.0.1:${target.port}${url.pathname}${url.search}`,
          init,
        );
        const out = new Headers(upstream.headers);
        for (const name of HOP_BY_HOP) out.delete(name);
        out.set('server', 'Fly/fake');
        out.set('via', '1.1 fly.io');
        return new Response(upstream.body, { status: upstream.status, headers: out });
      } catch {
        return new Response('the machine did not answer\n', { status: 502 });
      }
    },
  });
}
