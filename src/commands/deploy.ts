import { rmSync } from 'node:fs';
import { flyAppOrigin } from '../fly/app-url.ts';
import { type DeployPlan, deployFly, destroyFly, dropImportSecret } from '../fly/deploy.ts';
import { flyImage } from '../fly/machine-config.ts';
import { setupRequired } from '../fly/machine-wait.ts';
import { MachinesApi } from '../fly/machines-api.ts';
import { exportFile, exportHere, type MoveSource, uploadExport, waitMoved } from '../fly/move.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { cliHome } from './cli-home.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { askLineOnTty } from './confirm.ts';
import { parseFlags } from './flags.ts';
import { reportOperatorError } from './report.ts';

// Fly's rules for app names (they become NAME.fly.dev): lowercase letters, digits, dashes.
const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const REGION = /^[a-z]{3}$/;
const VERSION_ARG = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

export const deploy: Command = {
  name: 'deploy',
  usage:
    'parachute deploy fly --app NAME [--org SLUG] [--region iad] [--size-gb 1] [--version V] [--from-here | --from-export FILE] [--destroy [--yes]]',
  summary: 'Put a hub on Fly.io in one command (or move this one there), with no flyctl',
  help: [
    'Talks to the Fly Machines API with FLY_API_TOKEN (an organization token:',
    '`fly tokens create org <org>`, or the dashboard). In order, finding what exists',
    'first, so running it again after any failure continues where it stopped and',
    'never makes a second app, volume or machine:',
    '  the app NAME → a shared IPv4 and an IPv6 → secrets → the volume parachute_home',
    '  (1 GB, mounted at /parachute) → one machine (shared-cpu-1x, 512 MB, ports 443/80',
    '  → 1939, /health check, always restarted, never auto-stopped) → waits until it',
    '  runs, its check passes and https://NAME.fly.dev/health answers.',
    'A new hub ends with its setup page and the one-time setup token to paste there.',
    '',
    'Options:',
    '  --app NAME          the Fly app (and NAME.fly.dev); required',
    '  --org SLUG          the organization to create it in (default personal)',
    '  --region R          where the volume and machine go (default iad)',
    '  --size-gb N         the volume size in GB (default 1)',
    '  --version V         run hub release V; an existing machine is rolled to it',
    '                      through its lease (a restart of a few seconds)',
    '  --from-here         move the hub of this PARACHUTE_HOME there: accounts, apps,',
    '                      grants, signing keys, modules and their data',
    '  --from-export FILE  move the hub saved in a `parachute export` file there',
    '  --destroy           delete the app with its machine, volume (the hub’s data),',
    '                      IPs and secrets; asks for the app name to be typed',
    '  --yes               with --destroy: do not ask (scripts)',
    '',
    'Environment: FLY_API_TOKEN (required), FLY_API_HOSTNAME (default',
    'https://api.machines.dev), PARACHUTE_FLY_IMAGE (the image; default',
    'ghcr.io/openparachute/parachute-hub:<this version>), PARACHUTE_RELEASE_URL',
    '(passed on to the machine when set).',
  ].join('\n'),
  async run(args) {
    const [target, ...rest] = args;
    if (target !== 'fly') {
      throw new UsageError(
        target === undefined ? 'say where to deploy: fly' : `unknown target "${target}" (only fly)`,
      );
    }
    const { values, positionals } = parseFlags(rest, {
      app: 'value',
      org: 'value',
      region: 'value',
      'size-gb': 'value',
      version: 'value',
      'from-here': 'switch',
      'from-export': 'value',
      destroy: 'switch',
      yes: 'switch',
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const app = str(values.app);
    if (!app) throw new UsageError('--app NAME is required (it becomes NAME.fly.dev)');
    if (!APP_NAME.test(app)) {
      throw new UsageError(
        `"${app}" is not a Fly app name: lowercase letters, digits and dashes, up to 63 characters`,
      );
    }
    const region = str(values.region) ?? 'iad';
    if (!REGION.test(region))
      throw new UsageError(
        `--region "${region}" is not a Fly region code (three letters: iad, ams…)`,
      );
    const sizeGb = Number(str(values['size-gb']) ?? '1');
    if (!Number.isInteger(sizeGb) || sizeGb < 1 || sizeGb > 500)
      throw new UsageError('--size-gb must be a whole number of GB from 1 to 500');
    const version = str(values.version)?.replace(/^v/, '') ?? null;
    if (version !== null && !VERSION_ARG.test(version))
      throw new UsageError(`--version "${values.version}" is not a release version (like 0.4.2)`);
    const fromExport = str(values['from-export']);
    if (values['from-here'] && fromExport)
      throw new UsageError('give --from-here or --from-export FILE, not both');
    if (values.yes && !values.destroy) throw new UsageError('--yes only goes with --destroy');
    if (values.destroy && (values['from-here'] || fromExport || values.version))
      throw new UsageError('--destroy takes only --app (and --yes)');

    const token = process.env.FLY_API_TOKEN?.trim();
    try {
      if (!token) {
        throw new OperatorError(
          'FLY_API_TOKEN is not set.',
          'Create an organization token (`fly tokens create org <org>`, or fly.io/dashboard → Tokens → Create Organization token) and run: FLY_API_TOKEN=<token> parachute deploy fly --app NAME',
        );
      }
      const api = new MachinesApi({ token, base: process.env.FLY_API_HOSTNAME });
      const started = Date.now();
      const say = (line: string) => console.log(line);
      const figures = () =>
        `(${api.requests} Machines API requests${api.rateLimited ? `, ${api.rateLimited} rate-limited` : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s)`;

      if (values.destroy) {
        if (!values.yes) confirmDestroy(app);
        await destroyFly(api, app, say);
        console.log(figures());
        return EXIT.ok;
      }

      const move = values['from-here'] || fromExport;
      let source: MoveSource | null = null;
      try {
        if (move) {
          // Exported and verified before anything on Fly changes.
          source = fromExport ? await exportFile(fromExport) : await exportHere(cliHome());
          say(
            `export    ${source.manifest.files.length} files (${mb(source.bytes)}) of hub ${source.manifest.hub_version}: verified`,
          );
        }
        const plan: DeployPlan = {
          app,
          org: str(values.org) ?? 'personal',
          region,
          sizeGb,
          version,
          image: flyImage(),
          releaseUrl: process.env.PARACHUTE_RELEASE_URL?.trim() || undefined,
          move: Boolean(move),
          // A hub there with an admin is the moved one (an import only goes into an empty hub).
          alreadyMoved: async (name) => (await setupRequired(name)) === false,
        };
        const result = await deployFly(api, plan, say);
        const origin = flyAppOrigin(app);
        if (source) {
          if (result.importToken) {
            say(`upload    ${mb(source.bytes)} to ${origin}/api/hub/import`);
            await uploadExport(app, source, result.importToken);
            say('import    the hub verified it and restarts into it');
            await waitMoved(app);
            // Used up (the hub refuses it a second time); removed so it does not linger.
            await dropImportSecret(api, app);
            say('moved     the hub on Fly is back up as this hub; import token removed');
          } else {
            say('moved     the hub on Fly already has its admin (moved before): nothing uploaded');
          }
          const { modules } = source;
          console.log('');
          console.log(`Your hub now runs at ${origin} (version ${result.version}).`);
          console.log(
            `Moved: accounts, apps and grants, signing keys, ${modules.length > 0 ? `modules ${modules.join(', ')}` : 'no modules'} and their data.`,
          );
          console.log(
            'Sign in there with the same accounts. Apps that used this hub’s old address must be pointed at the new one.',
          );
          if (!fromExport)
            console.log(
              'Stop the hub here (`parachute stop`) so the two copies do not drift apart.',
            );
          console.log(
            `To come back: parachute export --from fly --app ${app}, then parachute import <file> on the new host.`,
          );
        } else if (result.setupToken) {
          console.log('');
          console.log(`Your hub is up at ${origin} (version ${result.version}).`);
          console.log(`Create its admin at ${origin}/admin/setup with this one-time setup token:`);
          console.log(`  ${result.setupToken}`);
        } else {
          console.log('');
          console.log(
            `Your hub is up at ${origin} (version ${result.version}); sign in at ${origin}/login.`,
          );
        }
        console.log(figures());
        return EXIT.ok;
      } finally {
        if (source?.temporary) rmSync(source.archive, { force: true });
      }
    } catch (error) {
      return reportOperatorError(error);
    }
  },
};

function str(value: string | true | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Destroying deletes the hub's data with its volume: the app's name must be typed out. */
function confirmDestroy(app: string): void {
  const typed = askLineOnTty(
    `This deletes the Fly app ${app} with its machine and its volume: the hub's accounts, modules and data are gone for good (export first: parachute export --from fly --app ${app}).\nType the app name to confirm:`,
  );
  if (typed === null) {
    throw new OperatorError(
      'there is no terminal to confirm on.',
      `Add --yes to destroy ${app} without asking.`,
    );
  }
  if (typed !== app) {
    throw new OperatorError(
      `"${typed}" is not "${app}": nothing was destroyed.`,
      'Type the app name exactly.',
    );
  }
}
