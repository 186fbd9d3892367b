import { createHash } from 'node:crypto';
import { escapeHtml } from '../platform/html.ts';
import { HUB_HEADERS } from './hub-headers.ts';

// The pages the hub renders itself, outside the admin SPA: `/`, a module
// that is down or starting, not found, a refused host name. They may be
// answered on a module's path or origin, with a module name or path an
// attacker picked, so every string is escaped here and nothing else goes in.

/** A link drawn as a button. */
export interface PageAction {
  label: string;
  href: string;
  primary?: boolean;
}

/** One row of a list, or one tile. */
export interface PageItem {
  label: string;
  href?: string;
  /** Muted text under or beside the label. */
  note?: string;
  /** A module state, drawn as a coloured dot before the label. */
  state?: string;
}

export interface PageList {
  heading: string;
  items: PageItem[];
  /** Cards in a grid (apps) rather than rows in one card (modules). */
  tiles?: boolean;
}

export interface HubPageSpec {
  status: number;
  /** The `<h1>` and the document title. */
  title: string;
  /** A short label above the heading, e.g. "502 · Module stopped". */
  eyebrow?: string;
  /** error (red), warning (amber), neutral (grey), ok (green): the eyebrow's dot. */
  tone?: 'error' | 'warning' | 'neutral' | 'ok';
  paragraphs?: string[];
  /** A command to run on the hub's machine, shown as code. */
  command?: string;
  lists?: PageList[];
  actions?: PageAction[];
  /** A paragraph after the actions, muted. */
  footnote?: string;
  /** The home page: a wide column instead of one centred card. */
  wide?: boolean;
  /** Where the brand links to (the hub's origin on a module's own origin). */
  home?: string;
  /** Links at the top right. */
  topLinks?: PageAction[];
  /** Reload after this many seconds (a starting module): no script needed. */
  refreshSeconds?: number;
  headers?: Record<string, string>;
}

// The admin UI's tokens (web/src/styles.css :root), light and dark, and its
// card, button and badge shapes; kept small, and the same for every page so
// the CSP can name it by hash.
const CSS = `:root{--bg:#f7f8fa;--panel:#fff;--text:#1c2330;--muted:#5c6675;--accent:#2f6fde;--border:#dfe3ea;--error:#b42318;--warning:#b54708;--ok:#12b76a;--on-accent:#fff;color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--text);background:var(--bg);line-height:1.5}
@media (prefers-color-scheme:dark){:root{--bg:#12161d;--panel:#1a2029;--text:#e6e9ef;--muted:#9aa4b2;--accent:#6ea0ff;--border:#2b3340;--error:#ff8a80;--warning:#fdb022;--on-accent:#0b1220}}
*{box-sizing:border-box}
body{margin:0}
a{color:var(--accent)}
a:focus-visible{outline:2px solid var(--accent);outline-offset:2px;border-radius:4px}
.page{max-width:34rem;margin:0 auto;padding:8vh 1rem 2rem;overflow-wrap:anywhere}
.page.wide{max-width:56rem;padding-top:1.5rem}
.top{display:flex;align-items:center;justify-content:space-between;gap:1rem;margin-bottom:1.25rem}
.brand{display:inline-flex;gap:.5rem;align-items:center;font-weight:600;color:var(--text);text-decoration:none}
.top nav{display:flex;gap:.5rem;align-items:center}
.card{padding:1.75rem 2rem;background:var(--panel);border:1px solid var(--border);border-radius:10px}
.wide main>h1{margin:1rem 0 1.25rem;font-size:1.6rem}
h1{margin:.75rem 0 1rem;font-size:1.4rem;line-height:1.25}
.card .top{margin-bottom:1rem}
h2{margin:2rem 0 .75rem;font-size:1.15rem}
p{margin:0 0 1rem}
.muted,.note{color:var(--muted)}
.eyebrow{display:inline-flex;align-items:center;gap:.4rem;margin:0;padding:.1rem .6rem;border-radius:999px;font-size:.8rem;font-weight:600;background:var(--bg);border:1px solid var(--border);color:var(--muted)}
.dot{flex:none;width:.6rem;height:.6rem;border-radius:50%;background:var(--muted)}
.tone-error .dot,.state-crashed{background:var(--error)}
.tone-warning .dot,.state-starting,.state-stopping,.state-backoff,.state-unbound{background:var(--warning)}
.tone-ok .dot,.state-running{background:var(--ok)}
pre{margin:0 0 1rem;padding:.6rem .75rem;border:1px solid var(--border);border-radius:6px;background:var(--bg);overflow-x:auto}
main>:last-child{margin-bottom:0}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.875rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}
.button{display:inline-block;padding:.5rem 1rem;border:1px solid var(--border);border-radius:6px;color:var(--text);text-decoration:none;font-weight:500}
.button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
.button.small{padding:.25rem .75rem;font-size:.875rem}
.footnote{margin:1.25rem 0 0;font-size:.875rem;color:var(--muted)}
ul{list-style:none;margin:0;padding:0}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
.tile{padding:1rem 1.25rem;background:var(--panel);border:1px solid var(--border);border-radius:8px}
.tile a{text-decoration:none}
.tile p{margin:.35rem 0 0;font-size:.9rem;color:var(--muted)}
.rows{background:var(--panel);border:1px solid var(--border);border-radius:8px}
.rows li{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem .6rem;padding:.7rem 1rem}
.rows li+li{border-top:1px solid var(--border)}
.rows a{font-weight:600;text-decoration:none}
.rows small{margin-left:auto;color:var(--muted);font-size:.85rem}
footer{margin-top:2rem;font-size:.85rem;color:var(--muted)}
@media (max-width:40rem){.card{padding:1.5rem 1.25rem}.rows small{margin-left:0;flex-basis:100%}}`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`;

/**
 * No script at all, the one stylesheet above by hash, no framing, no form
 * anywhere: a `<script>` smuggled into a path could not run even if it
 * were not escaped.
 */
export const HUB_PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

// The admin UI's favicon, inline: on a module's own origin /admin/favicon.svg is not served.
const LOGO =
  '<svg aria-hidden="true" width="22" height="22" viewBox="0 0 32 32"><path d="M3 15a13 11 0 0 1 26 0z" fill="#2f6fde"/><path d="M3 15l13 13 13-13M16 15v13M9.5 15L16 28l6.5-13" fill="none" stroke="#2f6fde" stroke-width="1.5"/></svg>';

/** A browser asking for a page (it sends Accept: text/html), rather than an API client. */
export function wantsPage(request: Request): boolean {
  return (request.headers.get('accept') ?? '').includes('text/html');
}

/** The page as a complete response, with the CSP that lets only its own style apply. */
export function hubPage(spec: HubPageSpec): Response {
  return new Response(renderHubPage(spec), {
    status: spec.status,
    headers: {
      ...HUB_HEADERS,
      'cache-control': 'no-store',
      ...spec.headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': HUB_PAGE_CSP,
      'x-frame-options': 'DENY',
    },
  });
}

/** The HTML of a page; every string of `spec` is escaped. */
export function renderHubPage(spec: HubPageSpec): string {
  const e = escapeHtml;
  const refresh = spec.refreshSeconds
    ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(spec.refreshSeconds))}">`
    : '';
  const top = spec.topLinks?.length
    ? `<nav aria-label="Hub">${spec.topLinks.map((a) => button(a, true)).join('')}</nav>`
    : '';
  const eyebrow = spec.eyebrow
    ? `<p class="eyebrow tone-${spec.tone ?? 'neutral'}"><span class="dot"></span>${e(spec.eyebrow)}</p>`
    : '';
  const paragraphs = (spec.paragraphs ?? []).map((p) => `<p>${e(p)}</p>`).join('');
  const command = spec.command ? `<pre><code>${e(spec.command)}</code></pre>` : '';
  const lists = (spec.lists ?? []).map(list).join('');
  const actions = spec.actions?.length
    ? `<div class="actions">${spec.actions.map((a) => button(a, false)).join('')}</div>`
    : '';
  const footnote = spec.footnote ? `<p class="footnote">${e(spec.footnote)}</p>` : '';
  const body = `${eyebrow}<h1>${e(spec.title)}</h1>${paragraphs}${command}${lists}${actions}${footnote}`;
  const brand = `<a class="brand" href="${e(spec.home ?? '/')}">${LOGO}Parachute</a>`;
  // A card page has the brand inside its card, as the admin UI's sign-in and consent pages do.
  const page = spec.wide
    ? `<div class="page wide"><header class="top">${brand}${top}</header><main>${body}</main></div>`
    : `<div class="page"><main class="card"><div class="top">${brand}${top}</div>${body}</main></div>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}<title>${e(spec.title)} · Parachute</title><style>${CSS}</style></head><body>${page}</body></html>`;
}

function button(action: PageAction, small: boolean): string {
  const classes = `button${action.primary ? ' primary' : ''}${small ? ' small' : ''}`;
  return `<a class="${classes}" href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>`;
}

function list(spec: PageList): string {
  const e = escapeHtml;
  const items = spec.items.map((item) => {
    const dot = item.state
      ? `<span class="dot state-${e(item.state)}" aria-hidden="true"></span>`
      : '';
    if (spec.tiles) {
      const label = item.href
        ? `<a href="${e(item.href)}"><strong>${e(item.label)}</strong></a>`
        : `<strong>${e(item.label)}</strong>`;
      return `<li class="tile">${label}${item.note ? `<p>${e(item.note)}</p>` : ''}</li>`;
    }
    const label = item.href ? `<a href="${e(item.href)}">${e(item.label)}</a>` : e(item.label);
    return `<li>${dot}${label}${item.note ? ` <small>${e(item.note)}</small>` : ''}</li>`;
  });
  return `<h2>${e(spec.heading)}</h2><ul class="${spec.tiles ? 'tiles' : 'rows'}" aria-label="${e(spec.heading)}">${items.join('')}</ul>`;
}

/**
 * Not found, for browsers: the same words as the admin UI's own not-found
 * page (web/src/pages/not-found.tsx), with the path that was asked for.
 */
export function notFoundPage(path: string, extra: Partial<HubPageSpec> = {}): Response {
  return hubPage({
    status: 404,
    eyebrow: '404 · Not found',
    tone: 'neutral',
    title: 'Page not found',
    paragraphs: [`There is no page at ${readable(path)} on this hub.`],
    actions: [{ label: 'Back to the home page', href: '/', primary: true }],
    ...extra,
  });
}

/** A path as the visitor typed it (`%3C` back to `<`; escaped like all text), else as it came. */
function readable(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
