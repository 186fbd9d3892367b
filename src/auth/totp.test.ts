import { describe, expect, test } from 'bun:test';
import {
  base32Decode,
  base32Encode,
  generateBackupCodes,
  generateTotpSecret,
  hashBackupCode,
  normalizeBackupCode,
  totpCode,
  totpUri,
  verifyTotp,
} from './totp.ts';

const text = new TextEncoder();
// RFC 6238 Appendix B SHA-1 seed: ASCII "12345678901234567890".
const rfcSecret = base32Encode(text.encode('12345678901234567890'));

describe('base32', () => {
  // RFC 4648 §10 test vectors, with the '=' padding dropped.
  test.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('%p <-> %p', (plain, encoded) => {
    expect(base32Encode(text.encode(plain))).toBe(encoded);
    expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain);
  });

  test('decode ignores case, spaces and padding', () => {
    expect(new TextDecoder().decode(base32Decode('mzxw 6ytb oi======'))).toBe('foobar');
  });

  test('round-trips random bytes of every length', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
  });

  test.each(['MZXW1YTB', 'MZXW6YT!', 'MZXW8'])('decode rejects %p', (bad) => {
    expect(() => base32Decode(bad)).toThrow(/invalid base32 character/);
  });

  test('decode rejects impossible lengths', () => {
    expect(() => base32Decode('MZX')).toThrow(/invalid base32 length/);
  });
});

describe('totpCode', () => {
  test.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('RFC 6238 Appendix B SHA-1 at T=%p', (seconds, code) => {
    expect(totpCode(rfcSecret, seconds * 1000, { digits: 8 })).toBe(code);
    // Six digits are the same truncated value modulo 10^6.
    expect(totpCode(rfcSecret, seconds * 1000)).toBe(code.slice(2));
  });

  test('is constant within a 30 s step', () => {
    expect(totpCode(rfcSecret, 60_000)).toBe(totpCode(rfcSecret, 89_999));
  });

  test('rejects bad options', () => {
    expect(() => totpCode(rfcSecret, 0, { digits: 5 })).toThrow();
    expect(() => totpCode(rfcSecret, 0, { periodSeconds: 0 })).toThrow();
    expect(() => totpCode('', 0)).toThrow(/empty/);
  });
});

describe('generateTotpSecret', () => {
  test('is 20 random bytes in unpadded base32', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(secret).length).toBe(20);
    expect(generateTotpSecret()).not.toBe(secret);
  });
});

describe('verifyTotp', () => {
  const nowMs = 1_700_000_015_000;
  const now = Math.floor(nowMs / 30_000);
  const codeAt = (delta: number) => totpCode(rfcSecret, nowMs + delta * 30_000);

  test.each([-1, 0, 1])('accepts the code from step offset %p', (delta) => {
    expect(verifyTotp(rfcSecret, codeAt(delta), { nowMs })).toBe(now + delta);
  });

  test.each([-2, 2])('refuses the code from step offset %p', (delta) => {
    expect(verifyTotp(rfcSecret, codeAt(delta), { nowMs })).toBeNull();
  });

  test('window 0 accepts only the current step', () => {
    expect(verifyTotp(rfcSecret, codeAt(0), { nowMs, window: 0 })).toBe(now);
    expect(verifyTotp(rfcSecret, codeAt(-1), { nowMs, window: 0 })).toBeNull();
  });

  test('refuses a step at or before lastUsedStep (replay)', () => {
    expect(verifyTotp(rfcSecret, codeAt(0), { nowMs, lastUsedStep: now })).toBeNull();
    expect(verifyTotp(rfcSecret, codeAt(-1), { nowMs, lastUsedStep: now - 1 })).toBeNull();
    expect(verifyTotp(rfcSecret, codeAt(0), { nowMs, lastUsedStep: now - 1 })).toBe(now);
    expect(verifyTotp(rfcSecret, codeAt(0), { nowMs, lastUsedStep: null })).toBe(now);
  });

  test.each(['12345', 'abcdef', '1234567', '', '12345a', '１２３４５６'])(
    'refuses malformed code %p',
    (code) => {
      expect(verifyTotp(rfcSecret, code, { nowMs })).toBeNull();
    },
  );

  test('refuses a correct code with extra characters', () => {
    expect(verifyTotp(rfcSecret, `${codeAt(0)}0`, { nowMs })).toBeNull();
    expect(verifyTotp(rfcSecret, `-${codeAt(0)}`, { nowMs })).toBeNull();
  });

  test('ignores spaces in the code', () => {
    const code = codeAt(0);
    const spaced = ` ${code.slice(0, 3)} ${code.slice(3)} `;
    expect(verifyTotp(rfcSecret, spaced, { nowMs })).toBe(now);
  });
});

describe('backup codes', () => {
  const format = /^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$/;

  test('default count, format and uniqueness', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(format);
    expect(new Set(codes).size).toBe(10);
  });

  test('honours count', () => {
    expect(generateBackupCodes(0)).toEqual([]);
    const codes = generateBackupCodes(200);
    expect(new Set(codes).size).toBe(200);
    for (const code of codes) expect(code).toMatch(format);
  });

  test('normalizes case, spaces and dashes', () => {
    expect(normalizeBackupCode(' K7M2 - Q9XA ')).toBe('k7m2q9xa');
  });

  test('hash is hex SHA-256 of the normalized code', () => {
    expect(hashBackupCode('K7M2-Q9XA')).toBe(hashBackupCode('k7m2q9xa'));
    expect(hashBackupCode('k7m2-q9xa')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashBackupCode('k7m2-q9xb')).not.toBe(hashBackupCode('k7m2-q9xa'));
  });
});

describe('totpUri', () => {
  test('encodes issuer and account and carries the secret', () => {
    const uri = totpUri({ issuer: 'Parachute Hub', account: 'ada@example.com', secret: 'ABC234' });
    expect(uri).toBe(
      'otpauth://totp/Parachute%20Hub:ada%40example.com' +
        '?secret=ABC234&issuer=Parachute%20Hub&algorithm=SHA1&digits=6&period=30',
    );
  });
});
