import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkExport } from '../backup/import.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';

export const exportCommand: Command = {
  name: 'export',
  usage: 'parachute export [-o file.tar.gz]',
  summary: 'Save the whole hub (accounts, apps, modules and their data) to one file',
  help: [
    'Asks the running hub for a consistent snapshot (it keeps serving meanwhile) and',
    'saves it; `parachute import <file>` restores it into an empty PARACHUTE_HOME.',
    'The file holds password hashes, signing keys and module secrets: keep it private.',
    '',
    'Options:',
    '  -o, --output F   where to write it (default ./parachute-export-<time>.tar.gz);',
    '                   an existing file is not overwritten',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { output: 'value' }, { '-o': 'output' });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = resolve(
      typeof values.output === 'string' ? values.output : `parachute-export-${stamp}.tar.gz`,
    );
    if (existsSync(out)) throw new UsageError(`${out} already exists; give another -o file`);
    // Written under a temporary name and renamed once whole and verified, so an
    // interrupted export never leaves a file that looks like a good one.
    const partial = `${out}.partial`;
    try {
      const client = HubClient.connect();
      const res = await client.download('/api/hub/export');
      // It holds password hashes and keys: owner-only from the first byte.
      writeFileSync(partial, '', { mode: 0o600 });
      const written = await Bun.write(partial, res).catch((error: Error) => {
        throw cut(error.message);
      });
      // A download cut short fails here: the archive must read to its end and match its manifest.
      const manifest = await checkExport(partial).catch(() => {
        throw cut('what arrived is incomplete or does not match its manifest');
      });
      renameSync(partial, out);
      console.log(
        `exported ${manifest.files.length} files (${written} bytes) of hub ${manifest.hub_version} to ${out}`,
      );
      return EXIT.ok;
    } catch (error) {
      rmSync(partial, { force: true });
      return reportError(error);
    }
  },
};

function cut(detail: string): OperatorError {
  return new OperatorError(
    `the export was cut off (${detail}); nothing was saved.`,
    'The hub may have stopped or restarted; check with `parachute status` and export again.',
  );
}
