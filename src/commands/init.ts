import { installedUnit, managerFor } from '../platform/units/host-unit.ts';
import { installUnit } from '../platform/units/unit-install.ts';
import { waitForHub } from '../platform/units/wait-for-hub.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';
import { parsePort } from './port-flag.ts';
import { readSetupToken } from './setup-token.ts';

export const init: Command = {
  name: 'init',
  usage: 'parachute init [--port N] [--home DIR]',
  summary: 'Install the hub as a service, start it and print how to claim it',
  help: [
    'The front door after downloading the binary by hand: installs and starts the unit',
    '(as `parachute unit install`), waits for the hub, then prints the admin URL and the',
    'one-time setup token. Safe to run again: once an admin exists it prints the URL only.',
    '',
    'Options:',
    '  --port N     the hub’s port (default: the installed unit’s, else 1939)',
    '  --home DIR   PARACHUTE_HOME (default /var/lib/parachute as root, else ~/.parachute)',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { port: 'value', home: 'value' });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const port = typeof values.port === 'string' ? parsePort(values.port) : undefined;
    if (port === 0) throw new UsageError('a unit needs a fixed port: give --port 1 to 65535');
    try {
      const installed = await installUnit({
        ...(port !== undefined ? { port } : {}),
        ...(typeof values.home === 'string' ? { home: values.home } : {}),
      });
      console.log(installed.line);
      // Already running: still make sure it answers before asking it anything.
      const unit = installedUnit();
      if (unit) {
        await waitForHub(
          installed.config.port,
          managerFor(unit.scope, unit.file),
          installed.config.home,
        );
      }
      const client = HubClient.connect({ ...process.env, PARACHUTE_HOME: installed.config.home });
      const { setup_required } = await client.call<{ setup_required: boolean }>(
        'GET',
        '/api/setup',
      );
      if (!setup_required) {
        console.log(`The hub already has an admin. Sign in at ${client.origin}/admin`);
        return EXIT.ok;
      }
      const token = await readSetupToken(client);
      console.log(
        [
          '',
          `Open ${client.origin}/admin/setup and enter this one-time setup token:`,
          `  ${token}`,
          '',
          'It stays valid until it is used or the hub restarts; `parachute setup-token` prints the current one.',
        ].join('\n'),
      );
      return EXIT.ok;
    } catch (error) {
      return reportError(error);
    }
  },
};
