import { launcherExitRequested, underLauncher } from '../fly/launcher-exit.ts';
import { startHub } from '../hub/hub.ts';
import { PortInUseError } from '../hub/server.ts';
import { spaFiles } from '../hub/spa-files.gen.ts';
import { resolveHome } from '../platform/paths.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { reportOperatorError } from './report.ts';

const DEFAULT_PORT = 1939;
const DEFAULT_HOST = '127.0.0.1';

export const serve: Command = {
  name: 'serve',
  usage: 'parachute serve [--port N] [--host ADDR]',
  summary: 'Run the hub in the foreground (what systemd, launchd and containers run)',
  help: [
    'Options (each overrides its environment variable):',
    `  --port N       HTTP port (PORT, default ${DEFAULT_PORT}; 0 picks a free one)`,
    `  --host ADDR    address to bind (PARACHUTE_BIND_HOST, default ${DEFAULT_HOST})`,
    '',
    'State lives in PARACHUTE_HOME (default ~/.parachute).',
    'SIGTERM or SIGINT stops the hub cleanly.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { port: 'value', host: 'value' });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const port = parsePort(String(values.port ?? process.env.PORT ?? DEFAULT_PORT));
    const hostname = String(values.host ?? process.env.PARACHUTE_BIND_HOST ?? DEFAULT_HOST);
    const home = resolveHome();

    // Listening before boot: a SIGTERM during boot still ends in a clean stop.
    const shutdown = nextShutdownSignal();
    let hub: Awaited<ReturnType<typeof startHub>>;
    try {
      hub = await startHub({ hostname, port, home, spaFiles });
    } catch (error) {
      return reportStartFailure(error);
    }
    // Under the Fly launcher, an upgrade or an import asks for a clean stop and an exit code it reads.
    const relaunch = underLauncher(process.env)
      ? launcherExitRequested()
      : new Promise<never>(() => {});
    const reason = await Promise.race([
      shutdown.then((signal) => ({ signal, code: EXIT.ok as number })),
      relaunch.then((code) => ({ signal: null, code })),
    ]);
    process.stdout.write(
      reason.signal
        ? `[hub] ${reason.signal} received, shutting down\n`
        : `[hub] stopping for the launcher to restart it (exit ${reason.code})\n`,
    );
    await hub.stop();
    process.stdout.write('[hub] stopped\n');
    return reason.code;
  },
};

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new UsageError(`invalid port "${raw}": use a number from 0 to 65535`);
  }
  return port;
}

/** Resolves with the first SIGTERM/SIGINT; a second one while stopping forces exit. */
function nextShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        process.stderr.write(`[hub] second ${signal}: exiting without waiting\n`);
        process.exit(EXIT.failure);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

async function reportStartFailure(error: unknown): Promise<number> {
  if (error instanceof PortInUseError) {
    // Loaded only on this path: /proc scanning needs node:fs/promises, which idle hubs never use.
    const { findPortHolder, portHolderCommand } = await import('../platform/port-holder.ts');
    const holder = await findPortHolder(error.port);
    const lines = [
      `parachute: cannot listen on ${error.hostname}:${error.port}: the port is already in use` +
        (holder ? ` by pid ${holder.pid} (${holder.command}).` : '.'),
      `  See what holds it:  ${portHolderCommand(error.port)}`,
      '  Then stop that process (another parachute may already be running: `parachute status`),',
      `  or run this hub on another port:  PORT=${error.port + 100} parachute serve`,
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
    return EXIT.failure;
  }
  return reportOperatorError(error);
}
