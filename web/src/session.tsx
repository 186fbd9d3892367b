import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api } from './api.ts';

/** The signed-in account, as GET /api/auth/session returns it. */
export interface User {
  id: string;
  username: string;
  role: string;
  totp_enabled: boolean;
  password_change_required: boolean;
}

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-in'; user: User }
  | { status: 'signed-out' }
  | { status: 'setup-required' }
  | { status: 'error'; message: string };

interface SessionContext {
  state: SessionState;
  /** After sign-in, setup or an account change the answer already holds the user: no refetch. */
  setUser: (user: User) => void;
  reload: () => void;
}

const Context = createContext<SessionContext | null>(null);

/**
 * Asks the hub once, at start, who is signed in. Pages that need an account
 * decide what to do with the answer (see RequireSession); the sign-in and
 * setup pages only read it.
 */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const load = useCallback(() => {
    setState({ status: 'loading' });
    api<{ user: User }>('GET', '/api/auth/session')
      .then(({ user }) => setState({ status: 'signed-in', user }))
      .catch((error: unknown) => setState(stateFromError(error)));
  }, []);
  useEffect(load, []);
  const value = useMemo<SessionContext>(
    () => ({ state, setUser: (user) => setState({ status: 'signed-in', user }), reload: load }),
    [state, load],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

function stateFromError(error: unknown): SessionState {
  if (error instanceof ApiError && error.status === 401) return { status: 'signed-out' };
  if (error instanceof ApiError && error.error === 'setup_required') {
    return { status: 'setup-required' };
  }
  const message =
    error instanceof ApiError ? (error.description ?? error.error) : 'Something went wrong.';
  return { status: 'error', message };
}

export function useSession(): SessionContext {
  const session = useContext(Context);
  if (!session) throw new Error('useSession needs a <SessionProvider> above it');
  return session;
}

/** The signed-in user; only for components rendered behind RequireSession. */
export function useUser(): User {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useUser needs a signed-in session');
  return state.user;
}
