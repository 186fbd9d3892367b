import { OperatorError } from '../platform/operator-error.ts';
import { isUp } from '../platform/units/manager.ts';
import { serviceState } from '../platform/units/service-state.ts';
import { installUnit } from '../platform/units/unit-install.ts';
import { uninstallUnit } from '../platform/units/unit-remove.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { askOnTty } from './confirm.ts';
import { parseFlags } from './flags.ts';
import { reportError } from './hub-client.ts';
import { parsePort } from './port-flag.ts';

export const unit: Command = {
  name: 'unit',
  usage: 'parachute unit install|uninstall|status [options]',
  summary: 'Install, remove or show the service unit that runs the hub at boot',
  help: [
    'install [--port N] [--home DIR] [--restart] [--no-start]',
    '    Writes the unit for this host (systemd system unit running as the `parachute`',
    '    user with PARACHUTE_HOME=/var/lib/parachute as root; a systemd user unit with',
    '    lingering otherwise; a LaunchAgent on macOS), enables it and starts the hub.',
    '    Safe to run again: the file is rewritten only when it differs, and a running',
    '    hub is restarted only when the unit changed or --restart is given.',
    '    Port and home default to what the installed unit says, else 1939 and',
    '    /var/lib/parachute (root) or ~/.parachute.',
    'uninstall [--purge] [-y]',
    '    Stops the hub and removes the unit. --purge also deletes PARACHUTE_HOME (all',
    '    data) after a confirmation on the terminal; without a terminal, pass -y.',
    'status',
    '    The unit and what its manager says (exit 0 when the hub is up).',
  ].join('\n'),
  async run(args) {
    const [sub, ...rest] = args;
    try {
      if (sub === 'install') return await install(rest);
      if (sub === 'uninstall') return await uninstall(rest);
      if (sub === 'status') return await status(rest);
    } catch (error) {
      return reportError(error);
    }
    throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'say install, uninstall or status');
  },
};

async function install(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    port: 'value',
    home: 'value',
    restart: 'switch',
    'no-start': 'switch',
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const port = typeof values.port === 'string' ? parsePort(values.port) : undefined;
  if (port === 0) throw new UsageError('a unit needs a fixed port: give --port 1 to 65535');
  const installed = await installUnit({
    ...(port !== undefined ? { port } : {}),
    ...(typeof values.home === 'string' ? { home: values.home } : {}),
    restart: values.restart === true,
    noStart: values['no-start'] === true,
  });
  console.log(installed.line);
  return EXIT.ok;
}

async function uninstall(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { purge: 'switch', yes: 'switch' },
    { '-y': 'yes' },
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const line = await uninstallUnit(async (home) => {
    if (values.purge !== true) return false;
    if (values.yes === true) return true;
    const answer = askOnTty(`Delete ${home} and everything in it (accounts, modules, their data)?`);
    if (answer === null) {
      throw new OperatorError(
        `--purge deletes ${home} and needs a confirmation, and there is no terminal to ask on.`,
        'Run `parachute unit uninstall --purge -y` to confirm.',
      );
    }
    if (!answer) throw new OperatorError('nothing was removed.', `${home} and the unit are kept.`);
    return true;
  });
  console.log(line);
  return EXIT.ok;
}

async function status(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
  const service = await serviceState();
  console.log(`hub: ${service.summary}`);
  if (service.unit) {
    const { home, port } = service.unit;
    if (home) console.log(`home: ${home}`);
    if (port !== undefined) console.log(`url:  http://127.0.0.1:${port}`);
  }
  if (service.manager === 'container') return EXIT.ok;
  return service.state !== null && isUp(service.state) ? EXIT.ok : EXIT.failure;
}
