import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useHealth } from './health.ts';
import { nav } from './nav.ts';

/** Header, sidebar and content area shared by every admin page. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const health = useHealth();
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/admin/">
          <img src="/admin/favicon.svg" alt="" width={20} height={20} />
          Parachute
        </a>
        <span class="version" data-testid="hub-version">
          {health.data ? `v${health.data.version}` : ''}
        </span>
      </header>
      <nav class="sidebar" aria-label="Admin sections">
        {nav.map((item) => (
          <a
            key={item.path}
            href={item.path}
            aria-current={path === withoutTrailingSlash(item.path) ? 'page' : undefined}
          >
            {item.label}
          </a>
        ))}
      </nav>
      <main class="content">{children}</main>
    </div>
  );
}

// preact-iso reports paths without a trailing slash ("/admin/" is "/admin").
function withoutTrailingSlash(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}
