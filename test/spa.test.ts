import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { gunzipSync } from 'node:zlib';
import { type HubProcess, isolatedBinary, ready, spawnHub } from './helpers/binary.ts';

let hub: HubProcess;
let url: string;
let shell: string;
let assets: string[];

beforeAll(async () => {
  const { dir, bin } = isolatedBinary();
  hub = spawnHub(bin, { cwd: dir });
  url = await hub.listening();
  await ready(url);
  shell = await (await fetch(`${url}/admin/`)).text();
  assets = [...shell.matchAll(/(?:src|href)="\/admin\/(assets\/[^"]+)"/g)].map(
    (m) => m[1] as string,
  );
});
afterAll(() => hub.proc.kill('SIGKILL'));

// Ask for identity unless a test says otherwise, and see bodies exactly as sent.
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    headers: { 'accept-encoding': 'identity', ...headers },
    redirect: 'manual',
    decompress: false,
  });

describe('embedded admin SPA', () => {
  test('/admin redirects to /admin/, keeping the query', async () => {
    const res = await get('/admin?next=x');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/admin/?next=x');
  });

  test('/admin/ is the app shell: HTML, revalidated on every load, unframeable, strict CSP', async () => {
    const res = await get('/admin/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(shell).toContain('<div id="app"></div>');
  });

  test('the shell references hashed JS and CSS assets', () => {
    expect(assets.some((a) => /^assets\/index-[\w-]{6,}\.js$/.test(a))).toBe(true);
    expect(assets.some((a) => /^assets\/index-[\w-]{6,}\.css$/.test(a))).toBe(true);
  });

  test('hashed assets carry their content type and are cached as immutable', async () => {
    for (const asset of assets) {
      const res = await get(`/admin/${asset}`);
      expect(res.status).toBe(200);
      const type = asset.endsWith('.js')
        ? 'text/javascript; charset=utf-8'
        : 'text/css; charset=utf-8';
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  test('unhashed files keep their content type and are revalidated', async () => {
    const res = await get('/admin/favicon.svg');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('<svg');
  });

  test.each(['/admin/modules', '/admin/modules/vault/logs', '/admin/settings?tab=origin'])(
    'deep link %s gets the app shell',
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toBe(shell);
    },
  );

  test.each([
    '/admin/assets/index-deadbeef.js',
    '/admin/assets/gone',
    '/admin/missing.png',
    '/admin/modules/app.js',
  ])('missing asset %s is a 404, not the shell', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('<div id="app">');
  });

  test('a matching If-None-Match gets 304 with no body', async () => {
    const first = await get('/admin/');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('/admin/modules', { 'if-none-match': etag as string });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  test('assets are sent compressed to clients that accept it, identical once decoded', async () => {
    const js = assets.find((a) => a.endsWith('.js')) as string;
    const plain = new Uint8Array(await (await get(`/admin/${js}`)).arrayBuffer());
    const gz = await get(`/admin/${js}`, { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toBe('accept-encoding');
    const body = new Uint8Array(await gz.arrayBuffer());
    expect(body.length).toBeLessThan(plain.length);
    expect(gunzipSync(body)).toEqual(Buffer.from(plain));
    const br = await get(`/admin/${js}`, { 'accept-encoding': 'gzip, br' });
    expect(br.headers.get('content-encoding')).toBe('br');
  });

  test('the first screen (every script and style the shell loads) is under 60 KB gzip', async () => {
    let total = 0;
    for (const asset of assets) {
      const res = await get(`/admin/${asset}`, { 'accept-encoding': 'gzip' });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      total += (await res.arrayBuffer()).byteLength;
    }
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    console.log(`first screen: ${(total / 1024).toFixed(1)} KB gzip`);
    expect(total).toBeLessThan(60 * 1024);
  });

  test('HEAD answers headers without a body', async () => {
    const res = await fetch(`${url}/admin/`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  test('an unknown path outside the SPA is a JSON 404', async () => {
    const res = await get('/no/such/thing');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: 'not_found',
      error_description: 'Nothing is served at GET /no/such/thing.',
    });
  });
});
