/**
 * Who may set X-Forwarded-* and Forwarded (modules.md section 7): the CIDRs
 * in PARACHUTE_TRUSTED_PROXIES, or any peer when the hub runs behind a
 * platform edge (Fly, Render) that it cannot be reached around. From anyone
 * else those headers are replaced with what the hub itself saw.
 */
export function trustedProxy(env: Record<string, string | undefined>): (ip: string) => boolean {
  if (env.FLY_APP_NAME || env.RENDER_EXTERNAL_URL) return () => true;
  const ranges = (env.PARACHUTE_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .map(parseCidr)
    .filter((r): r is NonNullable<ReturnType<typeof parseCidr>> => r !== null);
  if (ranges.length === 0) return () => false;
  return (ip) => {
    const addr = ipv4(ip.replace(/^::ffff:/, ''));
    return ranges.some((r) =>
      r.v4 && addr !== null ? (addr & r.mask) === (r.base & r.mask) : ip === r.exact,
    );
  };
}

function parseCidr(text: string) {
  const [addr = '', bits] = text.split('/');
  const base = ipv4(addr);
  if (base === null) return { v4: false, base: 0, mask: 0, exact: addr };
  const n = bits === undefined ? 32 : Number(bits);
  if (!Number.isInteger(n) || n < 0 || n > 32) return null;
  return { v4: true, base, mask: n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0, exact: addr };
}

function ipv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) return null;
    value = (value << 8) | n;
  }
  return value >>> 0;
}
