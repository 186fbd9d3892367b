import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type DecryptKeys, decryptFile, isAgeFile, parseIdentityFile } from '../backup/age-file.ts';
import { importExport, refuseNonEmpty } from '../backup/import.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { record } from '../store/audit.ts';
import { openStore } from '../store/db.ts';
import { VERSION } from '../version.ts';
import { cliHome } from './cli-home.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { askSecretOnTty } from './confirm.ts';
import { parseFlags } from './flags.ts';
import { reportOperatorError } from './report.ts';

export const importCommand: Command = {
  name: 'import',
  usage: 'parachute import <file.tar.gz | backup.tar.gz.age> [--identity KEYFILE]',
  summary: 'Restore a `parachute export` file into an empty PARACHUTE_HOME',
  help: [
    'Runs without a hub. The file is verified first (its manifest, and the size and',
    'SHA-256 of every file); a damaged, cut-off or edited file is refused and nothing',
    'is written. The home must be empty or not exist yet: an import never merges.',
    'Then start the hub on that home (`parachute serve`, or `parachute init`): same',
    'accounts, apps, grants, signing keys, operator token, modules and module data.',
    '',
    'A scheduled backup (.tar.gz.age, encrypted with age) is decrypted first, into',
    'a private temporary file beside the home, then imported the same way:',
    '  passphrase backups: the passphrase from PARACHUTE_BACKUP_PASSPHRASE, or asked',
    '                      on the terminal',
    '  --identity KEYFILE  recipient backups: the age identity file (age-keygen',
    '                      output) whose public key the backups are encrypted to',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { identity: 'value' }, { '-i': 'identity' });
    const [file, extra] = positionals;
    if (!file) throw new UsageError('say which export file to import');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const home = cliHome();
    let plain: string | null = null;
    try {
      let archive = resolve(file);
      if (isAgeFile(archive)) {
        // Refused before the (long) decryption, and again by importExport.
        refuseNonEmpty(home);
        const keys = decryptKeys(typeof values.identity === 'string' ? values.identity : null);
        plain = join(
          tempFolder(home),
          `.parachute-import-${randomBytes(6).toString('hex')}.tar.gz`,
        );
        await decryptFile(archive, plain, keys).catch((error: unknown) => {
          if (error instanceof OperatorError)
            throw new OperatorError(error.message, `${error.hint} Nothing was written.`);
          throw error;
        });
        archive = plain;
      } else if (typeof values.identity === 'string') {
        throw new UsageError(
          `${file} is not encrypted; --identity is only for .tar.gz.age backups`,
        );
      }
      const { manifest, files } = await importExport(archive, home);
      const db = openStore(hubPaths(home).db);
      try {
        record(db, {
          actor: { id: null, name: 'operator' },
          ip: 'cli',
          action: 'hub.import',
          target: 'hub',
          outcome: 'success',
          detail: { files, from_home: manifest.home, exported_at: manifest.created_at },
        });
      } finally {
        db.close();
      }
      console.log(
        `imported ${files} files (exported ${manifest.created_at} by hub ${manifest.hub_version}) into ${home}`,
      );
      if (manifest.hub_version !== VERSION) {
        console.log(`note: this is hub ${VERSION}; it migrates the data forward on first start`);
      }
      console.log(`start it with: PARACHUTE_HOME=${home} parachute serve  (or parachute init)`);
      return EXIT.ok;
    } catch (error) {
      // Name the backup given, not the temporary file it was decrypted to.
      if (plain && error instanceof OperatorError)
        return reportOperatorError(
          new OperatorError(error.message.replaceAll(plain, resolve(file)), error.hint),
        );
      return reportOperatorError(error);
    } finally {
      if (plain) rmSync(plain, { force: true });
    }
  },
};

/** The keys to open an encrypted backup: the identity file, or a passphrase from the environment or the terminal. */
function decryptKeys(identityFile: string | null): DecryptKeys {
  if (identityFile) {
    let text: string;
    try {
      text = readFileSync(resolve(identityFile), 'utf8');
    } catch (error) {
      throw new OperatorError(
        `cannot read the identity file ${identityFile}: ${(error as Error).message}`,
        'Give the file age-keygen wrote (it holds a line starting AGE-SECRET-KEY-1…). Nothing was written.',
      );
    }
    return { identities: parseIdentityFile(text) };
  }
  const passphrase =
    process.env.PARACHUTE_BACKUP_PASSPHRASE || askSecretOnTty('Backup passphrase:') || '';
  if (!passphrase)
    throw new OperatorError(
      'this backup is encrypted and no key was given',
      'Set PARACHUTE_BACKUP_PASSPHRASE (passphrase backups) or give --identity KEYFILE (age recipient backups). Nothing was written.',
    );
  return { passphrase };
}

/**
 * Where the decrypted archive waits: beside the home (same disk, which must
 * hold the hub anyway; /tmp is often a small tmpfs), else the system's temp.
 */
function tempFolder(home: string): string {
  const parent = dirname(home);
  return existsSync(parent) ? parent : tmpdir();
}
