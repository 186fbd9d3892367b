// RFC 6238 TOTP and one-time backup codes for optional two-factor login.
// Deliberately free of node:crypto: Bun.CryptoHasher and Web Crypto keep the hub's memory small.

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
// No 0/o, 1/l/i: backup codes are read off paper and typed by hand.
const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const SECRET_BYTES = 20; // RFC 4226 §4 R6 recommends 160 bits, the HMAC-SHA1 output size.
const DEFAULT_DIGITS = 6;
const DEFAULT_PERIOD_SECONDS = 30; // RFC 6238 §5.2 recommends a 30 s time step.

/** Encodes bytes as RFC 4648 §6 base32 (uppercase, no padding). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff; // at most 12 live bits, so 16 are enough
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes RFC 4648 base32, ignoring case, spaces and '=' padding; throws on invalid input. */
export function base32Decode(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  // RFC 4648 §6: a final quantum holds 2, 4, 5 or 7 characters, so 1, 3 or 6 cannot occur.
  if ([1, 3, 6].includes(clean.length % 8)) {
    throw new Error(`invalid base32 length: ${clean.length} characters`);
  }
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    const value = BASE32_ALPHABET.indexOf(clean.charAt(i));
    if (value < 0) throw new Error(`invalid base32 character '${clean.charAt(i)}' at ${i}`);
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}

/** Returns a new random 160-bit TOTP secret as unpadded base32. */
export function generateTotpSecret(): string {
  return base32Encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** Builds the otpauth:// key URI that authenticator apps read from a QR code. */
export function totpUri(opts: { issuer: string; account: string; secret: string }): string {
  const issuer = encodeURIComponent(opts.issuer);
  const label = `${issuer}:${encodeURIComponent(opts.account)}`;
  const query =
    `secret=${encodeURIComponent(opts.secret)}&issuer=${issuer}` +
    `&algorithm=SHA1&digits=${DEFAULT_DIGITS}&period=${DEFAULT_PERIOD_SECONDS}`;
  return `otpauth://totp/${label}?${query}`;
}

/** Computes the RFC 4226 HOTP value for one counter, zero-padded to `digits`. */
function hotp(key: Uint8Array, counter: number, digits: number): string {
  // RFC 4226 §5.1: the counter is an 8-byte big-endian integer.
  const message = new Uint8Array(8);
  const counterView = new DataView(message.buffer);
  counterView.setUint32(0, Math.floor(counter / 2 ** 32));
  counterView.setUint32(4, counter >>> 0);
  const mac = new Bun.CryptoHasher('sha1', key).update(message).digest();
  const view = new DataView(mac.buffer, mac.byteOffset, mac.byteLength);
  // RFC 4226 §5.3 dynamic truncation: the low nibble of the last byte picks 4 bytes, and the
  // top bit is masked so the result is the same whether read as signed or unsigned.
  const offset = view.getUint8(mac.byteLength - 1) & 0x0f;
  const binary = view.getUint32(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** Decodes a base32 TOTP secret into HMAC key bytes, refusing an empty key. */
function secretKey(secret: string): Uint8Array {
  const key = base32Decode(secret);
  if (key.length === 0) throw new Error('TOTP secret is empty');
  return key;
}

/** Returns the RFC 6238 time step T = floor(unix seconds / period) for a time in ms. */
function timeStep(timeMs: number, periodSeconds: number): number {
  if (!Number.isInteger(periodSeconds) || periodSeconds <= 0) {
    throw new Error(`invalid TOTP period: ${periodSeconds}`);
  }
  if (!Number.isFinite(timeMs) || timeMs < 0) throw new Error(`invalid TOTP time: ${timeMs}`);
  // RFC 6238 §4.2 with T0 = 0.
  return Math.floor(timeMs / (periodSeconds * 1000));
}

/** Returns the RFC 6238 TOTP code (HMAC-SHA1) of a base32 secret at `timeMs`. */
export function totpCode(
  secret: string,
  timeMs: number,
  opts: { digits?: number; periodSeconds?: number } = {},
): string {
  const digits = opts.digits ?? DEFAULT_DIGITS;
  // RFC 4226 §4 R4 requires at least 6 digits; 31 truncated bits cannot fill more than 10.
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) {
    throw new Error(`invalid TOTP digit count: ${digits}`);
  }
  const step = timeStep(timeMs, opts.periodSeconds ?? DEFAULT_PERIOD_SECONDS);
  return hotp(secretKey(secret), step, digits);
}

/** Compares two strings without an early exit, so timing does not leak the matching prefix. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Verifies a 6-digit code within ±window steps and returns its time step, or null if refused. */
export function verifyTotp(
  secret: string,
  code: string,
  opts: { nowMs: number; window?: number; lastUsedStep?: number | null },
): number | null {
  const window = opts.window ?? 1;
  if (!Number.isInteger(window) || window < 0) throw new Error(`invalid TOTP window: ${window}`);
  const candidate = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(candidate)) return null;
  const key = secretKey(secret);
  const now = timeStep(opts.nowMs, DEFAULT_PERIOD_SECONDS);
  const lastUsed = opts.lastUsedStep ?? -1;
  let matched: number | null = null;
  // RFC 6238 §5.2: a small window absorbs clock drift and typing delay; every candidate is
  // computed and compared (no early return) so timing does not reveal which step matched.
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue;
    const ok = constantTimeEqual(hotp(key, step, DEFAULT_DIGITS), candidate);
    // RFC 6238 §5.2: a code must not be accepted twice, so steps up to the last used are refused.
    if (ok && step > lastUsed && matched === null) matched = step;
  }
  return matched;
}

/** Returns `count` distinct random backup codes formatted like `k7m2-q9xa`. */
export function generateBackupCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`invalid backup code count: ${count}`);
  // Rejection sampling: bytes at or above the largest multiple of the alphabet size are
  // dropped, so `byte % size` is uniform (no modulo bias).
  const size = BACKUP_ALPHABET.length;
  const limit = 256 - (256 % size);
  const codes = new Set<string>();
  let chars = '';
  while (codes.size < count) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte >= limit) continue;
      chars += BACKUP_ALPHABET[byte % size];
      if (chars.length === 8) {
        codes.add(`${chars.slice(0, 4)}-${chars.slice(4)}`);
        chars = '';
        if (codes.size === count) break;
      }
    }
  }
  return [...codes];
}

/** Canonicalises a typed backup code: lowercase, without spaces or dashes. */
export function normalizeBackupCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

/** Returns the hex SHA-256 of a normalised backup code, the only form that is stored. */
export function hashBackupCode(code: string): string {
  // Codes are random, not user-chosen, so there is no dictionary for a slow KDF to defend.
  return new Bun.CryptoHasher('sha256').update(normalizeBackupCode(code)).digest('hex');
}
