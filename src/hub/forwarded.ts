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

const EXAMPLE =
  'expected an IPv4 or IPv6 address or CIDR, such as 192.0.2.7, 10.0.0.0/8, ::1 or 2001:db8::/32';

/**
 * 128 bits as four 32-bit words, most significant first, held as the signed
 * int32 values JS bitwise operators produce so that compares need no `>>> 0`.
 */
type Words = [number, number, number, number];

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

/**
 * Dotted-quad IPv4 as a 32-bit number, or null. One pass with no allocation,
 * as it runs per request. Octets with leading zeros are refused: some parsers
 * read `010` as octal 8, so they are ambiguous (CVE-2021-29923).
 */
function ipv4(text: string): number | null {
  let value = 0;
  let octets = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : DOT; // the end closes the last octet
    if (c === DOT) {
      if (digits === 0 || ++octets > 4) return null;
      value = (value << 8) | n;
      n = 0;
      digits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || (digits > 0 && n === 0) || ++digits > 3) return null;
    n = n * 10 + d;
    if (n > 255) return null;
  }
  return octets === 4 ? value : null;
}

/**
 * An IPv6 address in any RFC 4291 section 2.2 form (`::` once, 1-4 hex digits
 * per group in either case, a trailing dotted quad) as four words, or null.
 * A `%zone` suffix (RFC 4007 section 11) is dropped: it says which interface
 * the peer came in on, not who it is. One pass, as it runs per request: a
 * dual-stack socket reports every IPv4 client as `::ffff:a.b.c.d`.
 */
function ipv6(text: string): Words | null {
  const zone = text.indexOf('%');
  const end = zone === -1 ? text.length : zone;
  const g: number[] = []; // the groups written, without the ones `::` stands for
  let gap = -1; // where in g the `::` stands, if anywhere
  let i = 0;
  if (text.charCodeAt(0) === COLON && text.charCodeAt(1) === COLON) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let n = 0;
    let j = i;
    while (j < end) {
      const d = hexDigit(text.charCodeAt(j));
      if (d < 0) break;
      n = n * 16 + d;
      j++;
    }
    if (text.charCodeAt(j) === DOT) {
      // A dotted quad is the last 32 bits, so it ends the address.
      const a = ipv4(text.slice(i, end));
      if (a === null) return null;
      g.push(a >>> 16, a & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return null;
    g.push(n);
    if (j === end) break;
    if (text.charCodeAt(j) !== COLON || j + 1 === end) return null;
    i = j + 1;
    if (text.charCodeAt(i) === COLON) {
      if (gap !== -1) return null;
      gap = g.length;
      i++;
    }
  }
  // Without `::` all eight groups are written; with it, it stands for at least one.
  if (gap === -1 ? g.length !== 8 : g.length > 7) return null;
  const zeros = 8 - g.length;
  const group = (k: number) =>
    (gap === -1 || k < gap ? g[k] : k < gap + zeros ? 0 : g[k - zeros]) ?? 0;
  const word = (k: number) => (group(k) << 16) | group(k + 1);
  return [word(0), word(2), word(4), word(6)];
}

const DOT = 46;
const COLON = 58;

/** The value of one hex digit in either case, or -1 (also for NaN past the end). */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const lower = c | 0x20; // A-F folds onto a-f
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}
