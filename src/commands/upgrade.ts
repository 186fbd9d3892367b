import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { type Command, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { followOperation } from './follow-operation.ts';
import { ApiError, HubClient, reportError } from './hub-client.ts';
import { upgradeHub } from './hub-upgrade.ts';

export const upgrade: Command = {
  name: 'upgrade',
  usage: 'parachute upgrade <module> [--channel C | --file file.tgz|folder] | --hub [--to V]',
  summary: 'Upgrade an installed module, or (--hub) the hub itself, and restart it',
  help: [
    'Progress is printed as the hub works; exit 0 once the module is upgraded and up.',
    '',
    'Options:',
    '  --channel C    version or dist-tag to move to (default latest)',
    '  --file F       a newer .tgz or folder of the same package (for a module installed from an',
    '                 uploaded .tgz, or to move to a build of your own); another package is refused',
    '  --hub          upgrade the hub binary itself from PARACHUTE_RELEASE_URL (default the',
    "                 project's releases): SHA-256 checked, hub.db backed up, parachute.prev kept,",
    '                 restarted through its service; rolled back if it does not answer in 60 s',
    '  --to V         with --hub: the version to move to (default the latest)',
  ].join('\n'),
  async run(args) {
    const flags = parseFlags(args, {
      channel: 'value',
      file: 'value',
      hub: 'switch',
      to: 'value',
      // The watcher the hub starts for an upgrade asked for in the admin UI.
      watch: 'switch',
      // The system unit's root trigger (platform/units/upgrade-trigger.ts).
      'from-request': 'switch',
      manager: 'value',
      port: 'value',
      id: 'value',
    });
    const { values, positionals } = flags;
    // --hub, not `upgrade hub`: a module may be called hub.
    if (values.hub) return upgradeHub(flags);
    if (values.to !== undefined || values.watch || values['from-request'])
      throw new UsageError('--to upgrades the hub: add --hub (modules take --channel)');
    const [name, extra] = positionals;
    if (!name) throw new UsageError('say which module to upgrade, or --hub for the hub itself');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    if (values.channel !== undefined && values.file !== undefined)
      throw new UsageError('give --channel or --file, not both');
    const file = typeof values.file === 'string' ? resolve(values.file) : undefined;
    if (file !== undefined && !existsSync(file))
      throw new UsageError(`${file} does not exist; give a .tgz or a package folder`);
    try {
      const client = HubClient.connect();
      const body = {
        ...(typeof values.channel === 'string' ? { channel: values.channel } : {}),
        // The hub runs on this host (product.md): it reads the path itself.
        ...(file !== undefined ? { from: file } : {}),
      };
      const { operation_id } = await client
        .call<{ operation_id: string }>(
          'POST',
          `/api/modules/${encodeURIComponent(name)}/upgrade`,
          body,
        )
        .catch(olderHub);
      return await followOperation(client, operation_id);
    } catch (error) {
      return reportError(error);
    }
  },
};

// A hub from before the upgrade endpoint answers it as an unknown action (404 not_found).
function olderHub(error: unknown): never {
  if (error instanceof ApiError && error.code === 'not_found') {
    throw new OperatorError(
      'this hub does not support upgrading modules yet.',
      'Upgrade the hub itself first, or reinstall: `parachute uninstall <module>` then `parachute install <package>`.',
    );
  }
  throw error;
}
