import { runLauncher } from '../fly/launcher.ts';
import { resolveHome } from '../platform/paths.ts';
import { type Command, UsageError } from './command.ts';
import { reportOperatorError } from './report.ts';

/**
 * `parachute fly-boot` (hidden): what a Fly machine made by `parachute deploy
 * fly` runs. The image's binary is only this launcher; the hub binary lives
 * on the volume, so upgrades from the admin UI survive restarts (README,
 * "Deploy to Fly").
 */
export const flyBoot: Command = {
  name: 'fly-boot',
  usage: 'parachute fly-boot',
  summary: 'Run the hub binary on the volume (what a Fly machine runs)',
  help: [
    'Seeds $PARACHUTE_HOME/hub-binary/parachute (PARACHUTE_VERSION, default this',
    "launcher's version, from PARACHUTE_RELEASE_URL checked against SHA256SUMS), runs it",
    'as `serve`, restarts it after an upgrade (rolled back if /health does not answer',
    'the new version) or an import, and stops it on SIGTERM.',
  ].join('\n'),
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
    try {
      return await runLauncher({ home: resolveHome(), env: process.env });
    } catch (error) {
      return reportOperatorError(error);
    }
  },
};
