import { Elysia } from 'elysia';
import type { SpaFile, SpaFiles } from './spa-files.ts';

// The shell loads only its own hashed scripts and styles; nothing may frame it
// (clickjacking of the admin UI) and no form may post elsewhere.
const SHELL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The admin SPA embedded in the binary. Hashed assets are cached forever;
 * index.html is revalidated on every load so an upgrade shows at once; any
 * extension-less path is a client-side route and gets the shell; a missing
 * file is a 404, never the shell (a stale script tag must fail loudly).
 */
export function spaRoutes(files: SpaFiles) {
  return (
    new Elysia({ name: 'hub.spa' })
      .get('/admin', ({ request }) => {
        const url = new URL(request.url);
        return new Response(null, {
          status: 308,
          headers: { location: `/admin/${url.search}` },
        });
      })
      .get('/admin/*', ({ params, request }) => serveSpaPath(files, params['*'], request.headers))
      // The sign-in page lives outside /admin (auth.md); the SPA routes it.
      .get('/login', ({ request }) => serveSpaPath(files, '', request.headers))
  );
}

/** Answers one request for `subpath` (the part after /admin/). */
export function serveSpaPath(files: SpaFiles, subpath: string, headers: Headers): Response {
  const lastSegment = subpath.slice(subpath.lastIndexOf('/') + 1);
  const isAsset = subpath.startsWith('assets/') || lastSegment.includes('.');
  const key = isAsset ? subpath : 'index.html';
  const file = files[key];
  if (!file) {
    return new Response(`Not found: /admin/${subpath}\n`, {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  }
  const response = new Headers({
    'content-type': file.type,
    etag: file.etag,
    vary: 'accept-encoding',
    'cache-control': key.startsWith('assets/') ? IMMUTABLE : 'no-cache',
  });
  if (key === 'index.html') {
    response.set('content-security-policy', SHELL_CSP);
    response.set('x-frame-options', 'DENY');
  }
  if (headers.get('if-none-match') === file.etag) {
    return new Response(null, { status: 304, headers: response });
  }
  const encoded = pickEncoding(file, headers.get('accept-encoding') ?? '');
  if (encoded) response.set('content-encoding', encoded.encoding);
  return new Response(Bun.file(encoded?.path ?? file.path), { headers: response });
}

function pickEncoding(file: SpaFile, acceptEncoding: string) {
  const accepted = acceptedEncodings(acceptEncoding);
  if (file.br && accepted.has('br')) return { encoding: 'br', path: file.br };
  if (file.gzip && accepted.has('gzip')) return { encoding: 'gzip', path: file.gzip };
  return null;
}

/** Codings the client accepts (RFC 9110 §12.5.3): listed with a q-value above zero. */
export function acceptedEncodings(header: string): Set<string> {
  const accepted = new Set<string>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name);
  }
  return accepted;
}
