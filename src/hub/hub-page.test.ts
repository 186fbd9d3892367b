import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { HUB_PAGE_CSP, hubPage, notFoundPage, renderHubPage } from './hub-page.ts';

const HOSTILE = '<script>alert(1)</script>"\'&';
const ESCAPED = '&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;';

describe('the hub page renderer', () => {
  test('every string a caller passes is escaped, in text and in attributes', () => {
    const html = renderHubPage({
      status: 502,
      title: HOSTILE,
      eyebrow: HOSTILE,
      paragraphs: [HOSTILE],
      command: HOSTILE,
      footnote: HOSTILE,
      home: `"><script>x()</script>`,
      actions: [{ label: HOSTILE, href: `javascript:"><script>` }],
      topLinks: [{ label: HOSTILE, href: HOSTILE }],
      lists: [
        { heading: HOSTILE, items: [{ label: HOSTILE, href: HOSTILE, note: HOSTILE }] },
        {
          heading: HOSTILE,
          tiles: true,
          items: [{ label: HOSTILE, href: HOSTILE, note: HOSTILE }],
        },
        { heading: 'x', items: [{ label: 'y', state: '"><script>' }] },
      ],
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('"><script');
    // Title, eyebrow, heading, paragraph, command, footnote, actions, two lists' headings and aria-labels, items.
    expect(html.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(12);
  });

  test('the CSP allows exactly the page’s one style block, and no script, frame or form', () => {
    const html = renderHubPage({ status: 200, title: 't' });
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(css).digest('base64');
    expect(HUB_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(HUB_PAGE_CSP).toContain("default-src 'none'");
    expect(HUB_PAGE_CSP).toContain("frame-ancestors 'none'");
    expect(HUB_PAGE_CSP).toContain("form-action 'none'");
    expect(HUB_PAGE_CSP).not.toContain('script-src');
    expect(HUB_PAGE_CSP).not.toContain('unsafe');
    // Style attributes would need 'unsafe-hashes': the page has none.
    expect(html).not.toContain(' style=');
    expect(html.match(/<style>/g)?.length).toBe(1);
  });

  test('the response carries its status, the CSP, no caching and the caller’s extra headers', async () => {
    const res = hubPage({ status: 503, title: 't', headers: { 'retry-after': '2' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(HUB_PAGE_CSP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  test('a page that reloads itself does it with a meta refresh, not a script', () => {
    expect(renderHubPage({ status: 503, title: 't', refreshSeconds: 3 })).toContain(
      '<meta http-equiv="refresh" content="3">',
    );
  });

  test('not found has the admin UI’s words and the path asked for, escaped', async () => {
    const res = notFoundPage('/<img src=x onerror=alert(1)>');
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain('<h1>Page not found</h1>');
    expect(html).toContain(
      'There is no page at /&#60;img src=x onerror=alert(1)&#62; on this hub.',
    );
    expect(html).not.toContain('<img');
  });
});
