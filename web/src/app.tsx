import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { Layout } from './layout.tsx';
import { Account } from './pages/account.tsx';
import { Apps } from './pages/apps.tsx';
import { Audit } from './pages/audit.tsx';
import { Backup } from './pages/backup.tsx';
import { Consent } from './pages/consent.tsx';
import { Login } from './pages/login.tsx';
import { Logs } from './pages/logs.tsx';
import { Modules } from './pages/modules.tsx';
import { NotFound } from './pages/not-found.tsx';
import { Overview } from './pages/overview.tsx';
import { Settings } from './pages/settings.tsx';
import { Setup } from './pages/setup.tsx';
import { Tokens } from './pages/tokens.tsx';
import { Upgrade } from './pages/upgrade.tsx';
import { Users } from './pages/users.tsx';
import { RequireSession } from './require-session.tsx';
import { SessionProvider } from './session.tsx';

/**
 * The admin SPA. The hub serves this same shell at /login too. `scope` only
 * decides which link clicks stay client-side; route() and rendering work for
 * any path, /login included.
 */
export function App() {
  return (
    <LocationProvider scope="/admin">
      <SessionProvider>
        <Screens />
      </SessionProvider>
    </LocationProvider>
  );
}

/**
 * Sign-in and setup stand alone (no session, no admin chrome); the consent
 * screen stands alone too but needs a session; every other path needs a
 * session and renders inside the layout. They are picked here,
 * not by an outer <Router>: preact-iso gives a nested Router under a default
 * route an empty path, so the admin routes below could not match.
 */
function Screens() {
  const { path } = useLocation();
  if (path === '/login') return <Login />;
  if (path === '/admin/setup') return <Setup />;
  if (path === '/admin/consent') {
    return (
      <RequireSession>
        <Consent />
      </RequireSession>
    );
  }
  return (
    <RequireSession>
      <Layout>
        <Router>
          <Route path="/admin/" component={Overview} />
          <Route path="/admin/account" component={Account} />
          <Route path="/admin/apps" component={Apps} />
          <Route path="/admin/modules" component={Modules} />
          <Route path="/admin/tokens" component={Tokens} />
          <Route path="/admin/logs" component={Logs} />
          <Route path="/admin/logs/:name" component={Logs} />
          <Route path="/admin/audit" component={Audit} />
          <Route path="/admin/backup" component={Backup} />
          <Route path="/admin/users" component={Users} />
          <Route path="/admin/settings" component={Settings} />
          <Route path="/admin/upgrade" component={Upgrade} />
          <Route default component={NotFound} />
        </Router>
      </Layout>
    </RequireSession>
  );
}
