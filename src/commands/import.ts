import { resolve } from 'node:path';
import { importExport } from '../backup/import.ts';
import { hubPaths } from '../platform/paths.ts';
import { record } from '../store/audit.ts';
import { openStore } from '../store/db.ts';
import { VERSION } from '../version.ts';
import { cliHome } from './cli-home.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { reportOperatorError } from './report.ts';

export const importCommand: Command = {
  name: 'import',
  usage: 'parachute import <file.tar.gz>',
  summary: 'Restore a `parachute export` file into an empty PARACHUTE_HOME',
  help: [
    'Runs without a hub. The file is verified first (its manifest, and the size and',
    'SHA-256 of every file); a damaged, cut-off or edited file is refused and nothing',
    'is written. The home must be empty or not exist yet: an import never merges.',
    'Then start the hub on that home (`parachute serve`, or `parachute init`): same',
    'accounts, apps, grants, signing keys, operator token, modules and module data.',
  ].join('\n'),
  async run(args) {
    const [file, extra] = args;
    if (!file) throw new UsageError('say which export file to import');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const home = cliHome();
    try {
      const { manifest, files } = await importExport(resolve(file), home);
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
      return reportOperatorError(error);
    }
  },
};
