// A hub's slug names its Fly app (<prefix><slug>) and its hostname
// (<slug>.<domain>): DNS-label safe, short, and never one already in use.
import { randomBytes } from 'node:crypto';

const RESERVED = new Set(['www', 'api', 'admin', 'mail', 'status', 'provisioner', 'app', 'hub']);
const MAX = 30;

/** The slug a customer asked for (checkout metadata) or, else, their email's local part, cleaned. */
export function wantedSlug(asked: string | null | undefined, email: string): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, MAX)
      .replace(/-+$/, '');
  const fromAsk = clean(asked ?? '');
  const base = fromAsk.length >= 3 ? fromAsk : clean(email.split('@')[0] ?? '');
  if (base.length < 3 || RESERVED.has(base)) return `hub-${base || 'x'}`.slice(0, MAX);
  return base;
}

/** Candidates in order: the wanted slug, then -2 … -9, then random suffixes. */
export function* slugCandidates(base: string): Generator<string> {
  yield base;
  for (let i = 2; i <= 9; i++) yield `${base.slice(0, MAX - 2)}-${i}`;
  for (;;) yield `${base.slice(0, MAX - 7)}-${randomBytes(3).toString('hex')}`;
}
