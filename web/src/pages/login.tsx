import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { AuthFrame } from '../auth-frame.tsx';
import { LoginCode } from '../login-code.tsx';
import { LoginCredentials } from '../login-credentials.tsx';
import { leavesSpa, safeNext } from '../next.ts';
import { useSession } from '../session.tsx';

/**
 * /login, outside /admin: password first, then a code if the account has
 * two-factor authentication. Once signed in it goes to `next` (only ever an
 * /admin path, or back to /oauth/authorize, which is the hub's and needs a
 * full page load); a forced password change is then shown by RequireSession.
 */
export function Login() {
  const { route, query } = useLocation();
  const { state, setUser } = useSession();
  const [challenge, setChallenge] = useState<string>();
  const [notice, setNotice] = useState<string>();

  // One place moves on, whether the user was already signed in or just did.
  useEffect(() => {
    if (state.status === 'signed-in') {
      const next = safeNext(query.next);
      // replace(): going back must not land on the sign-in page again.
      if (leavesSpa(next)) location.replace(next);
      else route(next, true);
    }
    if (state.status === 'setup-required') route('/admin/setup', true);
  }, [state.status]);

  return (
    <AuthFrame title={challenge ? 'Two-factor authentication' : 'Sign in'}>
      {challenge ? (
        <LoginCode
          challenge={challenge}
          onUser={setUser}
          onExpired={() => {
            setChallenge(undefined);
            setNotice('That took too long. Enter your password again.');
          }}
          onCancel={() => setChallenge(undefined)}
        />
      ) : (
        <LoginCredentials
          notice={notice}
          onAnswer={(answer) => {
            if ('user' in answer) setUser(answer.user);
            else {
              setNotice(undefined);
              setChallenge(answer.challenge);
            }
          }}
        />
      )}
    </AuthFrame>
  );
}
