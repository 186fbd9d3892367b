import type { BackupStatus } from '../backup/backup-schedule.ts';
import { serviceState } from '../platform/units/service-state.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';
import { moduleTable } from './status-table.ts';

export const status: Command = {
  name: 'status',
  usage: 'parachute status [--json]',
  summary: 'Show the running hub and every module: state, pid, port, uptime, last error',
  help: [
    'Options:',
    '  --json    print {hub, modules} as JSON: the hub (origin, pid, port, version, home,',
    '            module counts, service: the unit and its manager’s state) and the',
    "            GET /api/modules array; hub.backups is the scheduled backups' state",
    '            (off, ok, running, failing, missing), message, last_good_at, next_run_at',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { json: 'switch' });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    // Who runs the hub (systemd, launchd, a container platform), as the manager says it now.
    const service = await serviceState();
    try {
      let client: HubClient;
      try {
        client = HubClient.connect();
      } catch (error) {
        console.error(`service: ${service.summary}`);
        throw error;
      }
      const modules = await client.modules();
      const health = await client.health();
      const backups = await backupStatusOf(client);
      if (values.json === true) {
        const hub = {
          origin: client.origin,
          pid: client.runtime.pid,
          port: client.runtime.port,
          version: health.version,
          home: client.home,
          started_at: client.runtime.started_at,
          modules: health.modules,
          backups,
          service: {
            manager: service.manager,
            unit: service.unit?.file ?? null,
            state: service.state,
          },
        };
        console.log(JSON.stringify({ hub, modules }, null, 2));
        return EXIT.ok;
      }
      const { running, total } = health.modules;
      console.log(
        `hub ${client.origin} (parachute ${health.version}) — ${total} module${total === 1 ? '' : 's'}, ${running} running`,
      );
      console.log(`service: ${service.summary}`);
      if (backups) console.log(backupLine(backups));
      if (modules.length === 0) {
        console.log('No modules installed. Add one with `parachute install <package>`.');
        return EXIT.ok;
      }
      console.log(`\n${moduleTable(modules)}`);
      return EXIT.ok;
    } catch (error) {
      return reportError(error);
    }
  },
};

/** GET /api/hub/backups' status; null from a hub that predates scheduled backups. */
async function backupStatusOf(client: HubClient): Promise<BackupStatus | null> {
  try {
    return (await client.call<{ status: BackupStatus }>('GET', '/api/hub/backups')).status;
  } catch {
    return null;
  }
}

/** One line: `backups: ok — Last good backup …`, with a warning mark when they need the operator. */
export function backupLine(status: BackupStatus): string {
  const mark = status.state === 'failing' || status.state === 'missing' ? ' (!)' : '';
  const next =
    status.next_run_at && status.state !== 'running'
      ? ` Next run ${new Date(status.next_run_at).toISOString()}.`
      : '';
  return `backups: ${status.state}${mark} — ${status.message}${next}`;
}
