// IP addresses in their textual forms, parsed in one pass with no regex:
// the hub parses a peer address on every proxied request it has to judge.

/**
 * 128 bits as four 32-bit words, most significant first, held as the signed
 * int32 values JS bitwise operators produce so that compares need no `>>> 0`.
 */
export type Words = [number, number, number, number];

/**
 * Dotted-quad IPv4 as a 32-bit number, or null. One pass with no allocation,
 * as it runs per request. Octets with leading zeros are refused: some parsers
 * read `010` as octal 8, so they are ambiguous (CVE-2021-29923).
 */
export function ipv4(text: string): number | null {
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
export function ipv6(text: string): Words | null {
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
