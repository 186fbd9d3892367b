import { OperatorError } from '../platform/operator-error.ts';
import { CONFIG_HELP, loadConfig } from '../provisioner/config.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { reportOperatorError } from './report.ts';

/** `parachute provisioner serve`: the hosted service that turns a Stripe payment into a hub on Fly. */
export const provisioner: Command = {
  name: 'provisioner',
  usage:
    'parachute provisioner serve | rollout --to VERSION [--canary N] [--concurrency C] [--max-failures F] [--json]',
  summary: 'Run the hosting provisioner (Stripe payment → a hub on Fly, one app per operator)',
  help: [
    'Serves POST /provision (the Stripe webhook), GET /status/:slug, GET /jobs, POST /retry and',
    'POST /teardown (the last four need Authorization: Bearer $PROVISIONER_ADMIN_TOKEN).',
    'State: $PROVISIONER_HOME/provisioner.db. SIGTERM or SIGINT stops it; jobs resume on the next start.',
    '',
    'rollout: every live hub to VERSION through its machine lease; canaries (default 1) first, one at a',
    'time, and any canary failure stops it; then C at a time (default 4) until more than F (default 0)',
    'have failed. A hub counts as upgraded when its /health answers VERSION. Needs FLY_API_TOKEN and',
    'PROVISIONER_HOME. Exit 1 when any hub failed or was not tried.',
    '',
    CONFIG_HELP,
  ].join('\n'),
  async run(args) {
    const [verb, ...rest] = args;
    if (verb === 'rollout') {
      // Loaded only here: Stripe's and nodemailer's code never weighs on a hub process.
      const { runRollout } = await import('../provisioner/rollout-command.ts');
      try {
        return await runRollout(rest);
      } catch (error) {
        return reportOperatorError(error);
      }
    }
    if (verb !== 'serve')
      throw new UsageError(
        verb ? `unknown subcommand "${verb}"` : 'say what to do: serve or rollout',
      );
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig();
    } catch (error) {
      return reportOperatorError(error);
    }
    const [{ liveDeps }, { startProvisioner }] = await Promise.all([
      import('../provisioner/live-deps.ts'),
      import('../provisioner/server.ts'),
    ]);
    const { fly, mailer } = liveDeps(config);
    let service: Awaited<ReturnType<typeof startProvisioner>>;
    try {
      service = startProvisioner(config, { fly, mailer });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') {
        return reportOperatorError(
          new OperatorError(
            `port ${config.port} on ${config.host} is in use.`,
            'Stop what holds it or set PORT to another port.',
          ),
        );
      }
      throw error;
    }
    process.stdout.write(
      `[provisioner] listening on ${service.url}, deploying hub ${config.hubVersion} to Fly org ${config.fly.org}\n`,
    );
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    process.stdout.write(
      `[provisioner] ${signal} received, stopping (running jobs resume on the next start)\n`,
    );
    await service.stop();
    mailer.close();
    return EXIT.ok;
  },
};
