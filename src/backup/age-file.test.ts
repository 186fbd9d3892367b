// Backups encrypted at rest (issue 18 point 3): round trips through the age
// format for both key kinds, the clear errors a wrong key or a damaged file
// gives (leaving no half-written plaintext), and memory that stays flat
// whatever the file's size.
import { afterAll, describe, expect, test } from 'bun:test';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFile, refusal, sameBytes } from '../../test/helpers/backup-files.ts';
import {
  decryptFile,
  encryptFile,
  isAgeFile,
  newDrillIdentity,
  parseIdentityFile,
  recipientOf,
  recipientProblem,
} from './age-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'parachute-age-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASS = { kind: 'passphrase', passphrase: 'correct horse battery staple' } as const;

describe('passphrase', () => {
  const plain = randomFile(dir, 'plain-pass.tar.gz', 5 * 1024);
  const sealed = join(dir, 'pass.tar.gz.age');

  test('round trip of a multi-MB file; the sealed file is age, 0600, not the plaintext', async () => {
    const written = await encryptFile(plain, sealed, PASS);
    expect(written).toBe(statSync(sealed).size);
    expect(written).toBeGreaterThan(statSync(plain).size);
    expect(isAgeFile(sealed)).toBe(true);
    expect(isAgeFile(plain)).toBe(false);
    expect(statSync(sealed).mode & 0o777).toBe(0o600);
    const out = join(dir, 'pass.out');
    expect(await decryptFile(sealed, out, { passphrase: PASS.passphrase })).toBe(
      statSync(plain).size,
    );
    expect(sameBytes(plain, out)).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  test('a wrong passphrase is refused clearly and writes nothing', async () => {
    const out = join(dir, 'wrong-pass.out');
    const error = await refusal(decryptFile(sealed, out, { passphrase: 'not it' }));
    expect(error.message).toContain('the passphrase does not open pass.tar.gz.age');
    expect(error.hint).toContain('passphrase');
    expect(existsSync(out)).toBe(false);
  });

  test('an empty passphrase is refused before anything is written', async () => {
    const out = join(dir, 'empty.age');
    await refusal(encryptFile(plain, out, { kind: 'passphrase', passphrase: '' }));
    expect(existsSync(out)).toBe(false);
  });
});

describe('recipient', () => {
  const plain = randomFile(dir, 'plain-rcpt.tar.gz', 3 * 1024);
  const sealed = join(dir, 'rcpt.tar.gz.age');
  let operator: string;
  let drill: string;

  test('encrypts to the operator and the drill identity: either opens it, nothing else does', async () => {
    operator = await newDrillIdentity(); // the operator's own key, made the same way
    drill = await newDrillIdentity();
    expect(drill).toMatch(/^AGE-SECRET-KEY-1/);
    await encryptFile(plain, sealed, {
      kind: 'recipient',
      recipient: await recipientOf(operator),
      drillIdentity: drill,
    });
    for (const [who, identity] of [
      ['operator', operator],
      ['drill', drill],
    ]) {
      const out = join(dir, `rcpt-${who}.out`);
      await decryptFile(sealed, out, { identities: [identity ?? ''] });
      expect(sameBytes(plain, out)).toBe(true);
    }
    const stranger = await newDrillIdentity();
    const out = join(dir, 'rcpt-stranger.out');
    const error = await refusal(decryptFile(sealed, out, { identities: [stranger] }));
    expect(error.message).toContain('the age key does not open rcpt.tar.gz.age');
    expect(existsSync(out)).toBe(false);
    // A passphrase cannot open a recipient file either.
    await refusal(decryptFile(sealed, out, { passphrase: 'anything' }));
    expect(existsSync(out)).toBe(false);
  });

  test('an age-keygen identity file is read with its comments', async () => {
    const text = `# created: 2026-12-02T00:00:00Z\n# public key: ${await recipientOf(operator)}\n${operator}\n`;
    expect(parseIdentityFile(text)).toEqual([operator]);
  });

  test('a damaged byte in the middle is caught, and the partial plaintext removed', async () => {
    const broken = join(dir, 'flipped.age');
    const bytes = readFileSync(sealed);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    writeFileSync(broken, bytes);
    const out = join(dir, 'flipped.out');
    const error = await refusal(decryptFile(broken, out, { identities: [drill] }));
    expect(error.message).toBe(
      "flipped.age is damaged or cut off: age's authentication check failed",
    );
    expect(error.hint).toContain('another backup');
    expect(existsSync(out)).toBe(false);
  });

  test('a damaged header is caught before any plaintext is written', async () => {
    const broken = join(dir, 'header.age');
    const bytes = readFileSync(sealed);
    const at = bytes.indexOf('\n---') - 3; // inside the last stanza's body
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(broken, bytes);
    const out = join(dir, 'header.out');
    await refusal(decryptFile(broken, out, { identities: [operator] }));
    expect(existsSync(out)).toBe(false);
  });

  for (const cut of ['mid-chunk', 'chunk boundary']) {
    test(`a file cut off at a ${cut} is caught`, async () => {
      const truncated = join(dir, `cut-${cut}.age`);
      writeFileSync(truncated, readFileSync(sealed));
      const size = statSync(truncated).size;
      // The payload is whole 64 KiB + 16 byte chunks after the header: cutting
      // at a boundary leaves a file that ends without age's "last chunk" flag.
      const headerEnd = size - (3 * (1 << 20) + 16 * 48);
      truncateSync(truncated, cut === 'mid-chunk' ? size - 1000 : headerEnd + 20 * (65536 + 16));
      const out = join(dir, `cut-${cut}.out`);
      const error = await refusal(decryptFile(truncated, out, { identities: [drill] }));
      expect(error.message).toContain('is damaged or cut off');
      expect(existsSync(out)).toBe(false);
    });
  }

  test('a file that is not age at all, and a key that is not a key', async () => {
    const out = join(dir, 'nope.out');
    const notAge = await refusal(decryptFile(plain, out, { identities: [drill] }));
    expect(notAge.message).toBe('plain-rcpt.tar.gz is not an age-encrypted backup');
    const badKey = await refusal(
      decryptFile(sealed, out, { identities: ['AGE-SECRET-KEY-1NOPE'] }),
    );
    expect(badKey.hint).toContain('AGE-SECRET-KEY-1');
    await refusal(decryptFile(sealed, out, {}));
    expect(existsSync(out)).toBe(false);
  });

  test('a recipient is checked with a message that says what to give', async () => {
    expect(recipientProblem(await recipientOf(operator))).toBeNull();
    expect(recipientProblem('')).toContain('age1');
    expect(recipientProblem('ssh-ed25519 AAAAC3Nza')).toContain('SSH keys are not supported');
    expect(recipientProblem('AGE-SECRET-KEY-1ABC')).toContain('starts with age1');
    const recipient = await recipientOf(operator);
    expect(recipientProblem(recipient.slice(0, -3))).toContain('not a valid age recipient');
    expect(recipientProblem('age1yubikey1qwerty')).toContain('Only X25519');
    const error = await refusal(
      encryptFile(plain, join(dir, 'x.age'), {
        kind: 'recipient',
        recipient: 'age1nope',
        drillIdentity: drill,
      }),
    );
    expect(error.message).toBe('cannot encrypt to "age1nope"');
    expect(existsSync(join(dir, 'x.age'))).toBe(false);
  });
});

describe('streaming', () => {
  // Peak memory of a separate process that encrypts then decrypts a file of
  // the given size: a 200 MiB file must cost no more than a 20 MiB one, give
  // or take, which a whole-file buffer (200+ MiB) could never pass.
  async function peakRss(mb: number): Promise<{ rss: number; encMs: number; decMs: number }> {
    const plain = randomFile(dir, `stream-${mb}.bin`, mb * 1024);
    const script = join(dir, 'stream-child.ts');
    writeFileSync(
      script,
      `import { encryptFile, decryptFile, newDrillIdentity, recipientOf } from ${JSON.stringify(join(import.meta.dir, 'age-file.ts'))};
const [src, sealed, out] = process.argv.slice(2);
// Sampled, not getrusage's maxRSS: that one starts from the parent's peak
// (it survives exec), so it would measure the test runner.
let rss = process.memoryUsage().rss;
setInterval(() => { rss = Math.max(rss, process.memoryUsage().rss); }, 5).unref();
const id = await newDrillIdentity();
let t = performance.now();
await encryptFile(src, sealed, { kind: 'recipient', recipient: await recipientOf(id), drillIdentity: id });
const encMs = performance.now() - t;
t = performance.now();
await decryptFile(sealed, out, { identities: [id] });
console.log(JSON.stringify({ encMs, decMs: performance.now() - t, rss }));`,
    );
    const sealed = join(dir, `stream-${mb}.age`);
    const out = join(dir, `stream-${mb}.out`);
    const proc = Bun.spawn([process.execPath, script, plain, sealed, out], {
      stdout: 'pipe',
      stderr: 'inherit',
    });
    const text = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(statSync(out).size).toBe(mb << 20);
    for (const f of [plain, sealed, out]) rmSync(f);
    return JSON.parse(text);
  }

  test('memory stays flat from 20 MiB to 200 MiB', async () => {
    const small = await peakRss(20);
    const large = await peakRss(200);
    const growth = large.rss - small.rss;
    console.log(
      `age streaming: peak RSS ${(small.rss / 2 ** 20).toFixed(0)} MiB for 20 MiB, ` +
        `${(large.rss / 2 ** 20).toFixed(0)} MiB for 200 MiB; 200 MiB encrypt ` +
        `${(200_000 / large.encMs).toFixed(0)} MiB/s, decrypt ${(200_000 / large.decMs).toFixed(0)} MiB/s`,
    );
    expect(growth).toBeLessThan(32 * 2 ** 20);
  }, 120_000);
});
