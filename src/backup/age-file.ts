import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { OperatorError } from '../platform/operator-error.ts';

/**
 * Backups are encrypted at rest in the age format (age-encryption.org/v1)
 * with the `age-encryption` package, so any age tool can open them and no
 * cryptography is home-made here. Files stream through in age's 64 KiB
 * chunks: memory stays flat whatever the archive's size.
 *
 * `recipient`: encrypted to the operator's age public key and also to the
 * hub's own drill identity, so the hub can prove each backup restores while
 * the operator's secret key never touches the hub. `passphrase`: age allows
 * a passphrase (scrypt) stanza only alone, so that file has no other key.
 */
export type BackupEncryption =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'recipient'; recipient: string; drillIdentity: string };

export interface DecryptKeys {
  passphrase?: string;
  identities?: string[];
}

const MAGIC = 'age-encryption.org/v1\n';

/** A new X25519 identity (AGE-SECRET-KEY-1…) for the hub's restore drill. */
export function newDrillIdentity(): Promise<string> {
  return generateX25519Identity();
}

/** The public key (age1…) of an identity. */
export function recipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}

/**
 * Why `recipient` cannot be encrypted to, as a sentence for a form field, or
 * null when it is a valid X25519 age recipient. Post-quantum and plugin
 * recipients are refused: the drill identity is X25519 and age refuses to
 * mix post-quantum recipients with classic ones.
 */
export function recipientProblem(recipient: string): string | null {
  const value = recipient.trim();
  if (value === '') return 'Give the age public key (age1…) the backups are encrypted to.';
  if (/^age1(pq|tag)/i.test(value) || /^age1[a-z0-9]+1/.test(value))
    return 'Only X25519 age recipients are supported: make a key with `age-keygen` and give its age1… public key.';
  if (/^ssh-/.test(value))
    return 'SSH keys are not supported: make an age key with `age-keygen` and give its age1… public key.';
  if (!value.startsWith('age1'))
    return 'An age recipient starts with age1… (the "public key" line `age-keygen` prints).';
  try {
    new Encrypter().addRecipient(value);
  } catch {
    return 'This is not a valid age recipient: copy the whole age1… public key (62 characters) again.';
  }
  return null;
}

/**
 * The identities in an age identity file (`age-keygen` output): every
 * AGE-SECRET-KEY-1… line; comments and blank lines are skipped.
 */
export function parseIdentityFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Whether `path` starts like an age file (its binary header line). */
export function isAgeFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.toString('latin1') === MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Encrypts `src` to a new file `dest` (mode 0600); resolves with the bytes written. */
export async function encryptFile(
  src: string,
  dest: string,
  enc: BackupEncryption,
): Promise<number> {
  const encrypter = new Encrypter();
  if (enc.kind === 'passphrase') {
    if (enc.passphrase === '')
      throw new OperatorError('the backup passphrase is empty', 'Set a passphrase for backups.');
    encrypter.setPassphrase(enc.passphrase);
  } else {
    const problem = recipientProblem(enc.recipient);
    if (problem) throw new OperatorError(`cannot encrypt to "${enc.recipient}"`, problem);
    encrypter.addRecipient(enc.recipient.trim());
    encrypter.addRecipient(await identityToRecipient(enc.drillIdentity));
  }
  const encrypted = await encrypter.encrypt(Bun.file(src).stream());
  return await writeStream(encrypted, dest, (error) => {
    throw error;
  });
}

/**
 * Decrypts the age file `src` to a new file `dest` (mode 0600) and resolves
 * with the plaintext bytes. A wrong key, or a file that is not age, damaged
 * or cut off, rejects with an OperatorError; `dest` is then removed, since
 * what was written before the damage was found is not to be trusted.
 */
export async function decryptFile(src: string, dest: string, keys: DecryptKeys): Promise<number> {
  const name = basename(src);
  const decrypter = new Decrypter();
  if (keys.passphrase) decrypter.addPassphrase(keys.passphrase);
  for (const identity of keys.identities ?? []) {
    try {
      decrypter.addIdentity(identity);
    } catch {
      throw new OperatorError(
        'the key given to open the backup is not an age identity',
        'Give the identity file `age-keygen` wrote (a line starting AGE-SECRET-KEY-1…).',
      );
    }
  }
  if (!keys.passphrase && !keys.identities?.length)
    throw new OperatorError(
      `no key to open ${name}`,
      'Give the backup passphrase, or the age identity file of the recipient it was encrypted to.',
    );
  if (!isAgeFile(src))
    throw new OperatorError(
      `${name} is not an age-encrypted backup`,
      'Give the .tar.gz.age file a backup wrote, or import a plain .tar.gz export without a key.',
    );
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(Bun.file(src).stream());
  } catch (error) {
    throw headerError(name, keys, error);
  }
  return await writeStream(plain, dest, () => {
    throw damaged(name);
  });
}

function headerError(name: string, keys: DecryptKeys, error: unknown): OperatorError {
  const message = error instanceof Error ? error.message : String(error);
  if (/no identity matched/.test(message)) {
    return keys.passphrase
      ? new OperatorError(
          `the passphrase does not open ${name}`,
          'Use the passphrase the hub had when this backup was made (PARACHUTE_BACKUP_PASSPHRASE or the prompt).',
        )
      : new OperatorError(
          `the age key does not open ${name}`,
          'Give the identity file whose public key (age1…) the backups are encrypted to.',
        );
  }
  if (/scrypt recipient is not the only one/.test(message))
    return new OperatorError(
      `${name} mixes a passphrase with other keys, which age does not allow`,
      'This file was not written by a Parachute hub; open it with the tool that made it.',
    );
  return damaged(name);
}

function damaged(name: string): OperatorError {
  return new OperatorError(
    `${name} is damaged or cut off: age's authentication check failed`,
    'Restore from another backup; this copy cannot be trusted.',
  );
}

/**
 * Writes a stream to a new file `dest`, fsyncs it and resolves with the bytes
 * written. A read error (the stream's, e.g. a failed authentication tag) goes
 * to `onReadError`; either way a failure removes the partial `dest`.
 */
async function writeStream(
  stream: ReadableStream<Uint8Array>,
  dest: string,
  onReadError: (error: unknown) => never,
): Promise<number> {
  const file = await open(dest, 'wx', 0o600).catch((error) => {
    throw writeError(dest, error);
  });
  let bytes = 0;
  try {
    const reader = stream.getReader();
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        onReadError(error);
      }
      if (next.done) break;
      await file.write(next.value).catch((error) => {
        throw writeError(dest, error);
      });
      bytes += next.value.length;
    }
    await file.sync();
    await file.close();
    return bytes;
  } catch (error) {
    await file.close().catch(() => {});
    rmSync(dest, { force: true });
    throw error;
  }
}

function writeError(dest: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC')
    return new OperatorError(
      `no room left to write ${dest}`,
      'Free some disk space and try again.',
    );
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new OperatorError(
      `cannot write ${dest} (${code})`,
      'Choose a folder the hub may write to.',
    );
  if (code === 'EEXIST')
    return new OperatorError(`${dest} already exists`, 'Remove it or choose another file name.');
  return error;
}
