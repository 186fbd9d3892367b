import { OperatorError } from '../platform/operator-error.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { connectEnsuringHub } from './ensure-hub.ts';
import { parseFlags } from './flags.ts';
import { reportError } from './hub-client.ts';

const DEFAULT_LINES = 100;

/** One line of a module's output as the hub keeps it (modules.md section 5, Logs). */
interface LogLine {
  ts: number;
  stream: 'out' | 'err';
  line: string;
}

export const logs: Command = {
  name: 'logs',
  usage: 'parachute logs <module> [-f|--follow] [-n|--lines N]',
  summary: 'Print a module’s recent output, or follow it live',
  help: [
    'Each line is printed as `<ISO time> <out|err> <text>`, all on stdout, so it greps.',
    'The hub keeps the last 256 KiB per module, across restarts.',
    '',
    'Options:',
    `  -n, --lines N   how many recent lines (default ${DEFAULT_LINES})`,
    '  -f, --follow    keep printing new lines until Ctrl-C',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { follow: 'switch', lines: 'value' },
      { '-f': 'follow', '-n': 'lines' },
    );
    const [name, extra] = positionals;
    if (!name) throw new UsageError('say which module’s logs to show');
    if (name.startsWith('-')) throw new UsageError(`unknown option ${name}`);
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const raw = typeof values.lines === 'string' ? values.lines : String(DEFAULT_LINES);
    if (!/^\d+$/.test(raw)) throw new UsageError(`-n needs a whole number of lines, not "${raw}"`);
    const path = `/api/modules/${encodeURIComponent(name)}/logs?tail=${raw}`;
    try {
      const client = await connectEnsuringHub();
      if (values.follow !== true) {
        const { lines } = await client.call<{ lines: LogLine[] }>('GET', path);
        for (const line of lines) console.log(format(line));
        return EXIT.ok;
      }
      // Ctrl-C is how a follow ends: a normal exit, not an error.
      process.on('SIGINT', () => process.exit(EXIT.ok));
      for await (const { event, data } of client.stream(`${path}&follow=1`)) {
        if (event === 'line') console.log(format(JSON.parse(data) as LogLine));
      }
      throw new OperatorError(
        'the hub closed the log stream.',
        'It may have stopped or restarted; check with `parachute status`.',
      );
    } catch (error) {
      return reportError(error);
    }
  },
};

function format(l: LogLine): string {
  return `${new Date(l.ts).toISOString()} ${l.stream} ${l.line}`;
}
