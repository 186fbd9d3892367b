import { ipv4, ipv6, type Words } from '../platform/ip-address.ts';

/**
 * Who may set X-Forwarded-* and Forwarded (modules.md section 7): the
 * addresses and CIDRs in PARACHUTE_TRUSTED_PROXIES, IPv4 or IPv6, or any peer
 * when the hub runs behind a platform edge (Fly, Render) that it cannot be
 * reached around. From anyone else those headers are replaced with what the
 * hub itself saw.
 *
 * An IPv4 address and its IPv4-mapped form `::ffff:a.b.c.d` (RFC 4291
 * section 2.5.5.2) are one peer: Bun reports IPv4 clients that way on a
 * dual-stack socket, and trust must not depend on how the socket was bound.
 * So `10.0.0.0/8` trusts `::ffff:10.1.2.3`, and an IPv6 range that covers
 * part of `::ffff:0:0/96` (`::ffff:0:0/96` itself, `::/0`) trusts those
 * IPv4 peers too. Other embeddings (NAT64 `64:ff9b::/96`) are plain IPv6.
 * Bits below the prefix length are ignored: `10.0.0.1/8` is `10.0.0.0/8`.
 *
 * Entries that do not parse are reported through `onInvalid` and ignored,
 * never widened or kept as strings: a typo must not trust anyone.
 */
export function trustedProxy(
  env: Record<string, string | undefined>,
  onInvalid: (entry: string, why: string) => void = () => {},
): (ip: string) => boolean {
  if (env.FLY_APP_NAME || env.RENDER_EXTERNAL_URL) return () => true;
  const list = (env.PARACHUTE_TRUSTED_PROXIES ?? '').trim();
  const ranges: Range[] = [];
  for (const entry of list === '' ? [] : list.split(',').map((e) => e.trim())) {
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') onInvalid(entry, `${parsed}; ${EXAMPLE}`);
    else ranges.push(parsed);
  }
  if (ranges.length === 0) return () => false;
  // Parsed once here so that a request costs one mask compare per range:
  // 32-bit for IPv4 and IPv4-mapped peers, four 32-bit words for other IPv6.
  const v4 = ranges.flatMap((r) => mappedPart(r) ?? []);
  const trustsV4 = (a: number) => v4.some((r) => (a & r.mask) === r.base);
  return (ip) => {
    if (!ip.includes(':')) {
      const a = ipv4(ip);
      return a !== null && trustsV4(a);
    }
    const w = ipv6(ip);
    if (w === null) return false;
    // A shortcut, not a special case: v4 holds exactly what the 128-bit
    // ranges say about ::ffff:0:0/96.
    if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return trustsV4(w[3]);
    return ranges.some((r) => inRange(r, w));
  };
}

/**
 * The client's address for the hub's own routes (login and registration rate
 * limits, session records): the peer, unless the peer is a trusted proxy, in
 * which case the proxies' own account of who connected to them. Without this,
 * behind Caddy on the same machine every visitor was 127.0.0.1, and one
 * person's wrong passwords locked everyone out.
 *
 * - Listed proxies: X-Forwarded-For read from the right (each proxy appends
 *   the peer it saw), skipping listed proxies; the first other address is
 *   the client. Entries further left were written by the client and are
 *   never believed.
 * - Fly: the Fly-Client-IP header its edge sets (fly.io/docs/networking/request-headers).
 *   Its X-Forwarded-For ends with the app's own address, not the client's.
 * - Render: the peer. Render's edge documents no header that names the
 *   client; its X-Forwarded-For chain depends on the CDN in front of it, and
 *   reading the wrong entry would let a client pick its own address.
 */
export function clientAddressOf(
  env: Record<string, string | undefined>,
  trusted: (ip: string) => boolean,
): (peer: string, headers: Headers) => string {
  if (env.FLY_APP_NAME) return (peer, headers) => headers.get('fly-client-ip')?.trim() || peer;
  if (env.RENDER_EXTERNAL_URL) return (peer) => peer;
  return (peer, headers) => {
    if (!trusted(peer)) return peer;
    const hops = (headers.get('x-forwarded-for') ?? '').split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = (hops[i] as string).trim();
      // An empty hop is a malformed chain: nothing in it can be believed.
      if (hop === '') return peer;
      if (!trusted(hop)) return hop;
    }
    // Every hop was a listed proxy: the leftmost is the closest to the client.
    return (hops[0] as string).trim();
  };
}

const EXAMPLE =
  'expected an IPv4 or IPv6 address or CIDR, such as 192.0.2.7, 10.0.0.0/8, ::1 or 2001:db8::/32';

/** A 128-bit prefix of `bits` bits; `base` is the address already masked. */
interface Range {
  base: Words;
  mask: Words;
  bits: number;
}

/** An IPv4 range as a 32-bit base (already masked) and mask. */
interface V4Range {
  base: number;
  mask: number;
}

/** One PARACHUTE_TRUSTED_PROXIES entry as a 128-bit prefix, or why it is not one. */
function parseEntry(entry: string): Range | string {
  if (entry === '') return 'empty entry (a stray comma?)';
  const [addr = '', bits, extra] = entry.split('/');
  if (extra !== undefined) return "more than one '/'";
  // A zone names the interface a link-local address is on; dropping it would
  // trust that address on every interface, more than was written.
  if (addr.includes('%')) return 'a zone id (%eth0) is not allowed here';
  const v6 = addr.includes(':');
  const max = v6 ? 128 : 32;
  const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  if (!(n <= max)) return `prefix length must be 0-${max} for ${v6 ? 'IPv6' : 'IPv4'}`;
  if (v6) {
    const w = ipv6(addr);
    return w === null ? 'not an IPv6 address' : range(w, n);
  }
  const a = ipv4(addr);
  return a === null ? 'not an IPv4 address' : range([0, 0, 0xffff, a], 96 + n);
}

function range(w: Words, bits: number): Range {
  const m: Words = [mask32(bits), mask32(bits - 32), mask32(bits - 64), mask32(bits - 96)];
  return { base: [w[0] & m[0], w[1] & m[1], w[2] & m[2], w[3] & m[3]], mask: m, bits };
}

function inRange(r: Range, w: Words): boolean {
  const m = r.mask;
  const b = r.base;
  return (
    (w[0] & m[0]) === b[0] &&
    (w[1] & m[1]) === b[1] &&
    (w[2] & m[2]) === b[2] &&
    (w[3] & m[3]) === b[3]
  );
}

/** The leading `bits` (clamped to 0..32) of a 32-bit word set. */
function mask32(bits: number): number {
  if (bits <= 0) return 0;
  return bits >= 32 ? -1 : -1 << (32 - bits);
}

/** The IPv4 peers a range trusts, as an IPv4 range, or null when it trusts none. */
function mappedPart(r: Range): V4Range | null {
  const last = r.base[3];
  if (!inRange(r, [0, 0, 0xffff, last])) return null;
  const mask = mask32(r.bits - 96);
  return { base: last & mask, mask };
}
