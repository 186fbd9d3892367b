import { type Command, EXIT, UsageError } from './commands/command.ts';
import { deploy } from './commands/deploy.ts';
import { exportCommand } from './commands/export.ts';
import { flyBoot } from './commands/fly-boot.ts';
import { importCommand } from './commands/import.ts';
import { init } from './commands/init.ts';
import { install } from './commands/install.ts';
import { logs } from './commands/logs.ts';
import { provisioner } from './commands/provisioner.ts';
import { restart } from './commands/restart.ts';
import { serve } from './commands/serve.ts';
import { setupToken } from './commands/setup-token.ts';
import { start } from './commands/start.ts';
import { status } from './commands/status.ts';
import { stop } from './commands/stop.ts';
import { token } from './commands/token.ts';
import { uninstall } from './commands/uninstall.ts';
import { unit } from './commands/unit.ts';
import { upgrade } from './commands/upgrade.ts';
import { COMMIT, VERSION } from './version.ts';

/** Every verb the binary knows, in the order `--help` lists them. */
const commands: Command[] = [
  serve,
  status,
  install,
  upgrade,
  uninstall,
  start,
  stop,
  restart,
  logs,
  token,
  init,
  unit,
  setupToken,
  exportCommand,
  importCommand,
  deploy,
  provisioner,
];

/** Verbs that --help does not list: run by platforms, not people. */
const hidden: Command[] = [flyBoot];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `parachute ${VERSION}: a personal server in one file`,
    '',
    'Usage: parachute <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help (or `parachute <command> --help`)',
    '  -v, --version  print version and build commit',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return (
    [`Usage: ${command.usage}`, '', command.summary, '', command.help ?? ''].join('\n').trimEnd() +
    '\n'
  );
}

/** Looks the verb up and runs it; returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`parachute ${VERSION} (commit ${COMMIT})\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(topic ? commandHelp(topic) : usage());
    return EXIT.ok;
  }
  const command = [...commands, ...hidden].find((c) => c.name === first);
  if (!command) {
    process.stderr.write(`parachute: unknown command "${first}"\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `parachute ${command.name}: ${(error as Error).message}\n\nUsage: ${command.usage}\n`,
      );
      return EXIT.usage;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `parachute: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT.failure);
  },
);
