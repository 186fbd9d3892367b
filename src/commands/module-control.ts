import { type Command, EXIT, UsageError } from './command.ts';
import { connectEnsuringHub } from './ensure-hub.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';
import { controlHub, type HubVerb } from './hub-service.ts';
import { explain, settle } from './module-state.ts';

/**
 * start, stop and restart share one shape: with a module name they ask the
 * running hub; without one they drive the hub's own service.
 */
export function controlCommand(verb: HubVerb, summary: string): Command {
  return {
    name: verb,
    usage: `parachute ${verb} [module]`,
    summary,
    help: [
      `With a module name: ${verb} that module in the running hub and wait until it settles.`,
      `Without one: ${verb} the hub itself through systemd or launchd (as \`parachute unit install\` set it up).`,
    ].join('\n'),
    async run(args) {
      const { positionals } = parseFlags(args, {});
      const [name, extra] = positionals;
      if (name?.startsWith('-')) throw new UsageError(`unknown option ${name}`);
      if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
      try {
        return name ? await controlModule(verb, name) : await controlHub(verb);
      } catch (error) {
        return reportError(error);
      }
    },
  };
}

async function controlModule(verb: HubVerb, name: string): Promise<number> {
  // A module cannot start in a hub that is down: start the hub first (not for stop).
  const client = verb === 'stop' ? HubClient.connect() : await connectEnsuringHub();
  const { state } = await client.call<{ name: string; state: string }>(
    'POST',
    `/api/modules/${encodeURIComponent(name)}/${verb}`,
  );
  console.log(`${name}: ${state}`);
  if (verb === 'stop') return EXIT.ok;
  // "starting" only means spawned; say whether it came up (supervisorctl does the same).
  const settled = await settle(client, name);
  if (!settled) return EXIT.ok;
  if (settled.state !== state) console.log(`${name}: ${settled.state}`);
  return explain(name, settled);
}
