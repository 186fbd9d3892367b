import { LocationProvider, Route, Router } from 'preact-iso';
import { Layout } from './layout.tsx';
import { NotFound } from './pages/not-found.tsx';
import { Overview } from './pages/overview.tsx';

/** The admin SPA: every screen is a route under /admin/ inside the shared layout. */
export function App() {
  return (
    <LocationProvider scope="/admin">
      <Layout>
        <Router>
          <Route path="/admin/" component={Overview} />
          <Route default component={NotFound} />
        </Router>
      </Layout>
    </LocationProvider>
  );
}
