import { clientIpOf } from '../platform/client-ip.ts';
import type { AuthContext } from './context.ts';
import { sessionCookies } from './cookies.ts';
import { sessions } from './sessions.ts';
import { publicUser, type User } from './users.ts';

/** Signs `user` in: creates the session and answers with its cookies and the user. */
export function startSession(
  ctx: AuthContext,
  request: Request,
  user: User,
  status = 200,
): Response {
  const { token, csrfToken } = sessions.create(ctx.db, user.id, {
    ip: clientIpOf(request),
    userAgent: request.headers.get('user-agent'),
  });
  const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  for (const cookie of sessionCookies(token, csrfToken, ctx.secureCookies))
    headers.append('set-cookie', cookie);
  return new Response(JSON.stringify({ user: publicUser(user) }), { status, headers });
}
