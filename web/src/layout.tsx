import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useHealth } from './health.ts';
import { nav } from './nav.ts';
import { useUser } from './session.tsx';
import { SignOutButton } from './sign-out-button.tsx';

/** Header, sidebar and content area shared by every admin page; rendered only when signed in. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const health = useHealth();
  const user = useUser();
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/admin/">
          <img src="/admin/favicon.svg" alt="" width={20} height={20} />
          Parachute
        </a>
        <div class="topbar-end">
          <span class="version" data-testid="hub-version">
            {health.data ? `v${health.data.version}` : ''}
          </span>
          <span
            class="signed-in"
            data-testid="signed-in-user"
            title={`Signed in as ${user.username}`}
          >
            {user.username}
          </span>
          <SignOutButton />
        </div>
      </header>
      <nav class="sidebar" aria-label="Admin sections">
        {nav
          .filter((item) => !item.adminOnly || user.role === 'admin')
          .map((item) => (
            <a
              key={item.path}
              href={item.path}
              aria-current={current(path, withoutTrailingSlash(item.path))}
            >
              {item.label}
            </a>
          ))}
      </nav>
      <main class="content">{children}</main>
    </div>
  );
}

// A section stays marked on its sub-pages (/admin/logs/<module>); Overview only on itself.
function current(path: string, section: string): 'page' | undefined {
  if (path === section) return 'page';
  return section !== '/admin' && path.startsWith(`${section}/`) ? 'page' : undefined;
}

// preact-iso reports paths without a trailing slash ("/admin/" is "/admin").
function withoutTrailingSlash(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}
