import { join } from 'node:path';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';
import { isNamed } from './module-state.ts';

export const uninstall: Command = {
  name: 'uninstall',
  usage: 'parachute uninstall <module> [--purge [--yes]]',
  summary: 'Stop a module and remove it (--purge also deletes its data)',
  help: [
    'Options:',
    '  --purge    also delete the module’s data folder, $PARACHUTE_HOME/<module>/',
    '  -y, --yes  do not ask before purging (needed when stdin is not a terminal)',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { purge: 'switch', yes: 'switch' },
      { '-y': 'yes' },
    );
    const [name, extra] = positionals;
    if (!name) throw new UsageError('say which module to uninstall');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const purge = values.purge === true;
    try {
      const client = HubClient.connect();
      if (purge && values.yes !== true && !(await confirmPurge(client, name))) return EXIT.failure;
      const result = await client.call<{ name: string; purged: boolean }>(
        'DELETE',
        `/api/modules/${encodeURIComponent(name)}${purge ? '?purge=1' : ''}`,
      );
      console.log(
        result.purged
          ? `${name}: uninstalled, data deleted`
          : `${name}: uninstalled (its data folder in ${client.home} is kept; --purge deletes it)`,
      );
      return EXIT.ok;
    } catch (error) {
      return reportError(error);
    }
  },
};

/**
 * Asks on a terminal; without one there is nobody to ask, so print the exact
 * command that confirms up front (deploy.md, "prompts only when a tty opens").
 */
async function confirmPurge(client: HubClient, name: string): Promise<boolean> {
  // Look the module up first, so a typo fails before a scary question.
  const module = (await client.modules()).find((m) => isNamed(m, name));
  // Unknown: let DELETE answer unknown_module, which lists the known names.
  if (!module) return true;
  const folder = join(client.home, module.module ?? module.name);
  if (!process.stdin.isTTY) {
    console.error(
      `parachute: --purge deletes ${folder} for good; nobody can confirm without a terminal.\n` +
        `  Re-run with --yes to confirm: parachute uninstall ${name} --purge --yes`,
    );
    return false;
  }
  // Bun's global confirm() reads one line from stdin: no readline module in the hub binary.
  if (confirm(`Uninstall ${name} and delete ${folder}? This cannot be undone.`)) return true;
  console.error('parachute: cancelled; nothing was changed.');
  return false;
}
