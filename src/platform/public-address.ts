// Whether an IP address is on the public internet. The hub fetches URLs that
// strangers name (a client's metadata document), so it must never be made to
// reach its own loopback, the LAN behind it, or a cloud metadata service.

import { ipv4, ipv6, type Words } from './ip-address.ts';

/** IPv4 ranges that are not public (RFC 6890 special-purpose registry), as [base, prefix length]. */
const V4_NOT_PUBLIC: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

const V4_RANGES = V4_NOT_PUBLIC.map(([base, bits]) => {
  const mask = bits === 0 ? 0 : (-1 << (32 - bits)) | 0;
  return { net: (ipv4(base) as number) & mask, mask };
});

function v4IsPublic(a: number): boolean {
  return !V4_RANGES.some(({ net, mask }) => (a & mask) === net);
}

/**
 * True when `address` (IPv4 or IPv6 text, as DNS answers it) is a public
 * unicast address. IPv6 forms that carry an IPv4 address (mapped, NAT64,
 * 6to4) are judged by that address; unparseable text is not public.
 */
export function isPublicAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4 !== null) return v4IsPublic(v4);
  const text = address.startsWith('[') ? address.slice(1, -1) : address;
  const w = ipv6(text);
  if (w === null) return false;
  return v6IsPublic(w);
}

function v6IsPublic(w: Words): boolean {
  const [a, b, c, d] = w;
  const top16 = a >>> 16;
  if (a === 0 && b === 0) {
    // ::, ::1, IPv4-compatible, and ::ffff:a.b.c.d (mapped): never a public v6 peer
    // except through the IPv4 address it carries.
    if (c === 0xffff) return v4IsPublic(d);
    return false;
  }
  if (a === 0x0064ff9b && b === 0 && c === 0) return v4IsPublic(d); // NAT64 (RFC 6052)
  if (top16 === 0x2002) return v4IsPublic(((a & 0xffff) << 16) | (b >>> 16)); // 6to4
  if (a === 0x20010000) return false; // Teredo tunnels
  if (a >>> 0 === 0x20010db8) return false; // documentation
  if (a === 0x01000000 && b === 0) return false; // discard-only (RFC 6666)
  if ((top16 & 0xfe00) === 0xfc00) return false; // unique local fc00::/7
  if ((top16 & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
  if ((top16 & 0xff00) === 0xff00) return false; // multicast
  return true;
}
