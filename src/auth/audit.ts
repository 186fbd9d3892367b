import { clientIpOf } from '../platform/client-ip.ts';
import { type Actor, ANONYMOUS, type AuditInput, record } from '../store/audit.ts';
import type { AuthContext } from './context.ts';
import type { Principal } from './guard.ts';
import type { User } from './users.ts';

type Who = Principal | User | Actor | null | undefined;

/** The actor for whoever made a request: a user, "operator", a token's sub, or anonymous. */
export function actorOf(who: Who): Actor {
  if (!who) return ANONYMOUS;
  if ('kind' in who) {
    if (who.kind === 'session') return { id: who.user.id, name: who.user.username };
    return { id: who.sub || null, name: who.user?.username ?? (who.sub || 'anonymous') };
  }
  if ('username' in who) return { id: who.id, name: who.username };
  return who;
}

/** Records one audit entry for `request` (the client IP the hub determined). */
export function audit(
  ctx: AuthContext,
  request: Request,
  who: Who,
  entry: Omit<AuditInput, 'actor' | 'ip'>,
): void {
  record(ctx.db, { ...entry, actor: actorOf(who), ip: clientIpOf(request) });
}
