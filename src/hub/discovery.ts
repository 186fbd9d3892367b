import { Elysia } from 'elysia';
import type { AuthContext } from '../auth/context.ts';
import type { ModuleManager, ModuleView } from '../modules/manager.ts';
import { linksOf, type UiInstance, vaultOfMount } from '../modules/ui-links.ts';
import { VERSION } from '../version.ts';
import { hubPage, type PageItem, type PageList } from './hub-page.ts';

// notes-ui and other module pages on other origins read the document with
// fetch(); it holds nothing a cookie would unlock, so any origin may.
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
};
/** Keys of the document that a module's per-short-name bucket must never replace. */
const RESERVED_KEYS = new Set(['hub', 'services', 'vaults']);

/** A module with its UI links resolved (ui-links.ts). */
interface Listed {
  view: ModuleView;
  links: UiInstance[];
}

function listed(auth: AuthContext, manager: ModuleManager): Listed[] {
  return manager.list().map((view) => ({ view, links: linksOf(view, auth) }));
}

/** Only the links that are declared, so absent ones are left out of the JSON. */
function declaredLinks(instance: UiInstance | undefined) {
  if (!instance) return {};
  const { uiUrl, managementUrl, configUiUrl } = instance;
  return {
    ...(uiUrl ? { uiUrl } : {}),
    ...(managementUrl ? { managementUrl } : {}),
    ...(configUiUrl ? { configUiUrl } : {}),
  };
}

/** One mount of one module, as clients discover it. */
function services(auth: AuthContext, modules: Listed[]) {
  return modules.flatMap(({ view: m, links }) =>
    m.paths.map((path) => {
      const url = `${auth.origin}${path.replace(/\/+$/, '')}`;
      return {
        name: m.module ?? m.name,
        displayName: m.displayName ?? m.name,
        path,
        url,
        version: m.version,
        infoUrl: `${url}/.parachute/info`,
        // A row the hub does not run (a module that registered itself) is `external`.
        state: m.row.installDir ? m.state : 'external',
        ...declaredLinks(links.find((l) => l.path === path)),
      };
    }),
  );
}

/**
 * Upstream's per-module buckets, `"<short>": [{url, version}]`, for every
 * module that is not a vault (vaults have their own list): the short name
 * is module.json `name`, else the row name without `parachute-`.
 */
function buckets(auth: AuthContext, modules: Listed[]) {
  const entries: [string, { url: string; version: string }[]][] = [];
  for (const { view } of modules) {
    const first = view.paths[0];
    if (!first || view.paths.some((p) => vaultOfMount(p) !== null)) continue;
    const short = view.module ?? view.name.replace(/^parachute-/, '');
    if (!/^[a-z][a-z0-9-]*$/.test(short) || RESERVED_KEYS.has(short)) continue;
    entries.push([
      short,
      [{ url: `${auth.origin}${first.replace(/\/+$/, '')}`, version: view.version }],
    ]);
  }
  return Object.fromEntries(entries);
}

/** What the `/` page links to: one tile per place a module's own UI lives. */
function tiles(modules: Listed[]): PageItem[] {
  const seen = new Set<string>();
  const items: PageItem[] = [];
  for (const { view, links } of modules) {
    const name = view.displayName ?? view.module ?? view.name;
    for (const link of links) {
      if (!link.uiUrl || seen.has(link.uiUrl)) continue;
      seen.add(link.uiUrl);
      const label = link.vault && links.length > 1 ? `${name} (${link.vault})` : name;
      items.push({ label, href: link.uiUrl, ...(view.tagline ? { note: view.tagline } : {}) });
    }
  }
  return items;
}

/** The `/` page: the apps to open, every module with its state, and the way to the admin UI. */
function homePage(auth: AuthContext, manager: ModuleManager): Response {
  const modules = listed(auth, manager);
  const rows: PageItem[] = services(auth, modules).map((s) => ({
    label: s.displayName,
    href: s.path,
    note: `${s.path} · ${s.state} · v${s.version}`,
    state: s.state,
  }));
  const apps = tiles(modules);
  const lists: PageList[] = [];
  if (apps.length > 0) lists.push({ heading: 'Apps', items: apps, tiles: true });
  if (rows.length > 0) lists.push({ heading: 'Modules', items: rows });
  return hubPage({
    status: 200,
    wide: true,
    title: 'This hub',
    paragraphs: [
      rows.length > 0
        ? 'Open an app, or sign in to the admin UI to manage modules, people and connected apps.'
        : 'No modules are installed yet. Sign in to the admin UI to install one.',
    ],
    lists,
    // Nothing to open yet: the one thing to do is install something.
    ...(rows.length === 0
      ? { actions: [{ label: 'Install a module', href: '/admin/modules', primary: true }] }
      : {}),
    topLinks: [{ label: 'Admin', href: '/admin/', primary: true }],
    footnote: `Parachute v${VERSION}`,
    headers: { 'cache-control': 'no-cache' },
  });
}

/**
 * GET /.well-known/parachute.json and GET / (modules.md section 7): what is
 * installed and where, for clients and for people. Public: it names
 * modules, paths and links, never secrets.
 */
export function discoveryRoutes(auth: AuthContext, manager: ModuleManager) {
  return new Elysia({ name: 'hub.discovery' })
    .options(
      '/.well-known/parachute.json',
      () => new Response(null, { status: 204, headers: CORS }),
    )
    .get('/.well-known/parachute.json', ({ set }) => {
      set.headers['cache-control'] = 'no-cache';
      Object.assign(set.headers, CORS);
      const modules = listed(auth, manager);
      const list = services(auth, modules);
      return {
        ...buckets(auth, modules),
        hub: { origin: auth.origin, version: VERSION },
        services: list,
        // Older clients, and notes-ui's vault picker, read vaults from the top level.
        vaults: list.flatMap((s) => {
          const name = vaultOfMount(s.path);
          if (!name) return [];
          const manage = s.managementUrl ? { managementUrl: s.managementUrl } : {};
          return [{ name, path: s.path, url: s.url, version: s.version, ...manage }];
        }),
      };
    })
    .get('/', () => homePage(auth, manager));
}
