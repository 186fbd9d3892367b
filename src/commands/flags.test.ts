import { expect, test } from 'bun:test';
import { UsageError } from './command.ts';
import { parseFlags } from './flags.ts';

const spec = { port: 'value', json: 'switch' } as const;
const short = { '-p': 'port', '-j': 'json' };

test.each([
  [['--port', '80'], { port: '80' }, []],
  [['--port=80', 'x'], { port: '80' }, ['x']],
  [['--json', 'a', '--', '--port'], { json: true as const }, ['a', '--port']],
  [['--port='], { port: '' }, []],
])('%p parses', (args, values, positionals) => {
  expect(parseFlags(args, spec)).toEqual({ values, positionals });
});

test.each([
  [['-p', '80', '-j'], { port: '80', json: true as const }, []],
  [['-x', 'constructor'], {}, ['-x', 'constructor']],
])('%p parses with short flags', (args, values, positionals) => {
  expect(parseFlags(args, spec, short)).toEqual({ values, positionals });
});

test.each([
  [['--nope'], 'unknown option --nope'],
  [['--port'], '--port needs a value'],
  [['--port', '--json'], '--port needs a value'],
  [['--json=1'], '--json takes no value'],
])('%p is a usage error', (args, message) => {
  expect(() => parseFlags(args, spec)).toThrow(new UsageError(message));
});
